import Glibc

/// Secrets (API keys, user names, JWT keys) found by hash and confirmed by a constant-time comparison,
/// so a lookup costs the same whatever prefix of a stored secret a guess shares.
///
/// Built once per plan; lookups never allocate. The hash is FNV-1a seeded per process, so which keys
/// share a bucket cannot be worked out offline.
package final class CredentialIndex: @unchecked Sendable {
    private struct Entry {
        var hash: UInt64
        var offset: Int32
        var length: Int32
        var value: Int32
    }

    private static let seed = UInt64.random(in: .min ... .max)

    private let mask: Int
    private let slots: UnsafeMutablePointer<Int32>
    private let entries: UnsafeMutablePointer<Entry>
    private let bytes: UnsafeMutableRawPointer
    /// Number of secrets.
    package let count: Int

    /// Indexes `secrets`, each with the value a lookup returns. Duplicate secrets: the first wins (the
    /// configuration reader reports duplicates before this is built).
    package init(_ secrets: [(secret: [UInt8], value: Int32)]) {
        count = secrets.count
        var size = 8
        while size < secrets.count * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1, count: size)
        entries = .allocate(capacity: max(1, secrets.count))
        let total = secrets.reduce(0) { $0 + $1.secret.count }
        bytes = .allocate(byteCount: max(1, total), alignment: 8)
        var offset = 0
        for (index, item) in secrets.enumerated() {
            if !item.secret.isEmpty {
                item.secret.withUnsafeBytes { (bytes + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            let hash = Self.hash(UnsafeRawBufferPointer(start: bytes + offset, count: item.secret.count))
            (entries + index).initialize(
                to: Entry(hash: hash, offset: Int32(offset), length: Int32(item.secret.count), value: item.value)
            )
            offset += item.secret.count
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 {
                if Self.sameSecret(entries[Int(slots[slot])], index: index, entries: entries, bytes: bytes) { break }
                slot = (slot + 1) & mask
            }
            if slots[slot] < 0 { slots[slot] = Int32(index) }
        }
    }

    deinit {
        slots.deallocate()
        entries.deallocate()
        bytes.deallocate()
    }

    /// The value stored with `secret`, or -1.
    package func lookup(_ secret: UnsafeRawBufferPointer) -> Int32 {
        let hash = Self.hash(secret)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = slots[slot]
            if index < 0 { return -1 }
            let entry = entries[Int(index)]
            if entry.hash == hash
                && Self.constantTimeEquals(
                    UnsafeRawBufferPointer(start: bytes + Int(entry.offset), count: Int(entry.length)),
                    secret
                )
            {
                return entry.value
            }
            slot = (slot + 1) & mask
        }
    }

    /// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths.
    @inline(never)
    package static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var difference = UInt64(a.count ^ b.count)
        let count = min(a.count, b.count)
        var index = 0
        while index < count {
            difference |= UInt64(a[index] ^ b[index])
            index &+= 1
        }
        return difference == 0
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash = FNV1a.offsetBasis ^ seed
        for byte in bytes { hash = FNV1a.mix(hash, byte) }
        return hash
    }

    private static func sameSecret(
        _ entry: Entry,
        index: Int,
        entries: UnsafeMutablePointer<Entry>,
        bytes: UnsafeMutableRawPointer
    ) -> Bool {
        let other = entries[index]
        return entry.hash == other.hash && entry.length == other.length
            && memcmp(bytes + Int(entry.offset), bytes + Int(other.offset), Int(entry.length)) == 0
    }
}
