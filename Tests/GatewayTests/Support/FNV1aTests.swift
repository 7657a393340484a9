import Testing

@testable import Gateway

@Suite struct FNV1aTests {
    /// The published FNV-1a 64 vectors (Fowler/Noll/Vo's test suite), so the config hash shown in `/status`
    /// can be reproduced by any FNV implementation.
    @Test(arguments: [
        ("", 0xcbf2_9ce4_8422_2325 as UInt64),
        ("a", 0xaf63_dc4c_8601_ec8c),
        ("foobar", 0x8594_4171_f739_67e8),
    ])
    func knownVectors(input: String, expected: UInt64) {
        #expect(FNV1a.hash(input.utf8) == expected)
        #expect(FNV1a.hex(of: input.utf8) == String(expected, radix: 16))
    }

    @Test func emptyInputIsTheOffsetBasis() {
        #expect(FNV1a.hash([UInt8]()) == FNV1a.offsetBasis)
        #expect(FNV1a.prime == 0x100_0000_01b3)
    }

    @Test func mixingByteByByteEqualsHashingTheWhole() {
        let bytes = Array("api.example.com".utf8)
        var hash = FNV1a.offsetBasis
        for byte in bytes {
            hash = FNV1a.mix(hash, byte)
        }
        #expect(hash == FNV1a.hash(bytes))
    }

    @Test func lowerCasingWhileMixingEqualsHashingTheLowerCasedName() {
        // The route table's form: Host bytes are lower-cased as they are folded in.
        var hash = FNV1a.offsetBasis
        for byte in "API.Example.COM".utf8 {
            hash = FNV1a.mix(hash, HTTPBytes.lowercased(byte))
        }
        #expect(hash == FNV1a.hash("api.example.com".utf8))
    }

    @Test func hexIsSixteenZeroPaddedLowerCaseDigits() {
        #expect(FNV1a.hex(0) == "0000000000000000")
        #expect(FNV1a.hex(0xAB) == "00000000000000ab")
        #expect(FNV1a.hex(UInt64.max) == "ffffffffffffffff")
    }
}
