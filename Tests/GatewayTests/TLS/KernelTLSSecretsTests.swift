import Testing

@testable import Gateway

@Suite("kTLS secrets: the per-connection slot the key log fills")
struct KernelTLSSecretsTests {
    static let random = String(repeating: "ab", count: 32)

    static func line(_ label: String, secretBytes: Int, fill: String = "11", random: String = random) -> KernelTLSKeyLog
    {
        KernelTLSKeyLog(line: "\(label) \(random) \(String(repeating: fill, count: secretBytes))")!
    }

    @Test func keepsTheThreeSecretsTheKernelNeeds() {
        var secrets = KernelTLSSecrets()
        let kept = [
            secrets.record(Self.line("SERVER_TRAFFIC_SECRET_0", secretBytes: 48, fill: "22")),
            secrets.record(Self.line("CLIENT_TRAFFIC_SECRET_0", secretBytes: 32, fill: "33")),
            secrets.record(Self.line("CLIENT_RANDOM", secretBytes: 48, fill: "44")),
        ]
        #expect(kept == [true, true, true])
        #expect(secrets.serverTrafficSecretBytes == Array(repeating: 0x22, count: 48))
        #expect(secrets.clientTrafficSecretBytes == Array(repeating: 0x33, count: 32))
        #expect(secrets.masterSecretBytes == Array(repeating: 0x44, count: 48))
        #expect(secrets.clientRandomBytes == Array(repeating: 0xab, count: 32))
    }

    @Test(arguments: [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "EXPORTER_SECRET",
        "CLIENT_TRAFFIC_SECRET_1", "SERVER_TRAFFIC_SECRET_0X",
    ])
    func ignoresOtherLines(label: String) {
        var secrets = KernelTLSSecrets()
        let kept = secrets.record(Self.line(label, secretBytes: 32))
        #expect(!kept)
        #expect(secrets.clientRandomLength == 0)
        #expect(secrets.serverTrafficSecretBytes.isEmpty && secrets.clientTrafficSecretBytes.isEmpty)
    }

    @Test func refusesImpossibleLengths() {
        var secrets = KernelTLSSecrets()
        // Longer than any hash: it would not fit the slot.
        let tooLong = secrets.record(Self.line("SERVER_TRAFFIC_SECRET_0", secretBytes: 49))
        #expect(!tooLong)
        // A client random is 32 bytes.
        let shortRandom = secrets.record(Self.line("CLIENT_RANDOM", secretBytes: 48, random: "abcd"))
        #expect(!shortRandom)
        #expect(secrets.masterSecretLength == 0 && secrets.serverTrafficSecretLength == 0)
    }

    @Test func wipeReturnsToTheEmptyValue() {
        var secrets = KernelTLSSecrets()
        secrets.record(Self.line("SERVER_TRAFFIC_SECRET_0", secretBytes: 48, fill: "ff"))
        secrets.record(Self.line("CLIENT_RANDOM", secretBytes: 48, fill: "ff"))
        secrets.ticketsSent = 2
        secrets.wipe()
        #expect(secrets.serverTrafficSecretBytes.isEmpty && secrets.masterSecretBytes.isEmpty)
        #expect(secrets.ticketsSent == 0 && secrets.clientRandomLength == 0)
        withUnsafeBytes(of: &secrets) { bytes in
            #expect(bytes.allSatisfy { $0 == 0 }, "no key byte is left in the slot")
        }
    }

    /// The worker's slab is zeroed memory: that must already be an empty slot.
    @Test func zeroedMemoryIsAnEmptySlot() {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<KernelTLSSecrets>.size,
            alignment: MemoryLayout<KernelTLSSecrets>.alignment
        )
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<KernelTLSSecrets>.size)
        let secrets = raw.assumingMemoryBound(to: KernelTLSSecrets.self).pointee
        #expect(secrets.clientRandomBytes.isEmpty && secrets.masterSecretBytes.isEmpty && secrets.ticketsSent == 0)
        #expect(MemoryLayout<KernelTLSSecrets>.size <= 200, "a small per-connection slot")
    }
}
