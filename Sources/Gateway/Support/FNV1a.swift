/// FNV-1a 64, the gateway's one small non-cryptographic byte hash: the config's version hash in `/status`
/// and the route table's exact-host slots.
///
/// Streaming and allocation-free so a hot path can fold bytes in one at a time, changing them on the way:
/// the route table lower-cases Host header bytes as it hashes them instead of copying them first.
package enum FNV1a {
    /// The 64-bit offset basis: the hash of no bytes, and where every hash starts.
    package static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The 64-bit FNV prime.
    package static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// Folds one byte into `hash` (xor, then multiply: the "1a" order).
    @inline(__always)
    package static func mix(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* prime
    }

    /// FNV-1a 64 of `bytes`.
    @inline(__always)
    package static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash = offsetBasis
        for byte in bytes {
            hash = mix(hash, byte)
        }
        return hash
    }

    /// `hash` as 16 lower-case hex digits, zero-padded so every hash has the same width.
    package static func hex(_ hash: UInt64) -> String {
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// FNV-1a 64 of `bytes` as 16 lower-case hex digits.
    package static func hex<Bytes: Sequence<UInt8>>(of bytes: Bytes) -> String {
        hex(hash(bytes))
    }
}
