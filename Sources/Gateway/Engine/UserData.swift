/// Packs what a completion refers to into io_uring's 64-bit `user_data`.
///
/// Layout: `kind` in the top 8 bits, a 24-bit slot generation, and the 32-bit slot index. The
/// generation lets a worker drop completions that arrive for a slot that has since been reused.
package enum UserData {
    /// Completions nobody waits for (closes, cancels, linked timeouts).
    package static let ignored: UInt64 = 0

    /// A listener's accepts: the listening descriptor is added as the slot.
    package static let accept: UInt64 = make(.accept, slot: 0, generation: 0)

    package enum Kind: UInt8 {
        case ignored = 0
        case accept = 1
        case clientReceive = 2
        case clientSend = 3
        case upstreamConnect = 4
        case upstreamReceive = 5
        case upstreamSend = 6
        /// A worker's connection to a rate-limit Redis server; the slot is the endpoint's index.
        case redisConnect = 7
        case redisReceive = 8
        case redisSend = 9
    }

    @inline(__always)
    package static func make(_ kind: Kind, slot: UInt32, generation: UInt32) -> UInt64 {
        (UInt64(kind.rawValue) << 56) | (UInt64(generation & 0xFF_FFFF) << 32) | UInt64(slot)
    }

    @inline(__always)
    package static func kind(_ value: UInt64) -> Kind {
        Kind(rawValue: UInt8(truncatingIfNeeded: value >> 56)) ?? .ignored
    }

    @inline(__always)
    package static func slot(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value) }

    @inline(__always)
    package static func generation(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value >> 32) & 0xFF_FFFF }
}
