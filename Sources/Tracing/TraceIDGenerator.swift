#if canImport(Glibc)
import Glibc
#endif

/// Random trace and span ids for one worker, without locks or allocation: xoshiro256** seeded from
/// `/dev/urandom` (W3C asks for ids that are random enough that two never collide; they need not be
/// cryptographic).
public struct TraceIDGenerator: Sendable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)
    /// The high half of the trace ids this generator starts: random, fixed for its life.
    @usableFromInline var tracePrefix: UInt64 = 0
    @usableFromInline var traceCounter: UInt64 = 0

    /// A generator seeded from the kernel's random source (mixed with `salt`, e.g. the worker index).
    public init(salt: UInt64 = 0) {
        var seed: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let fd = open("/dev/urandom", O_RDONLY)
        let got = fd >= 0 ? withUnsafeMutableBytes(of: &seed) { read(fd, $0.baseAddress, 32) } : -1
        if fd >= 0 { close(fd) }
        if got != 32 {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            seed = (
                UInt64(bitPattern: Int64(time.tv_nsec)), UInt64(getpid()), UInt64(bitPattern: Int64(time.tv_sec)), 1
            )
        }
        self.init(seed: (seed.0 ^ salt, seed.1, seed.2, seed.3))
    }

    /// A generator with a fixed seed (tests); an all-zero seed is replaced, since it would only give zeros.
    public init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        state = seed
        if state.0 | state.1 | state.2 | state.3 == 0 { state = (0x9E37_79B9_7F4A_7C15, 1, 2, 3) }
        tracePrefix = spanID()
        traceCounter = next()
    }

    /// A new trace id: the generator's random high half, and a low half that is a bijective mix
    /// (splitmix64) of a counter that starts at a random value.
    ///
    /// Unique for as long as the generator lives (the mix is a bijection) and across generators (the
    /// random high half), and uniformly spread in its low 64 bits, which trace-id ratio sampling reads
    /// (here and downstream, as OpenTelemetry's TraceIdRatioBased does). Half the entropy of two random
    /// words is what keeps the id cheap in a zstd-compressed access log: every line carries one.
    @inlinable
    public mutating func traceID() -> (high: UInt64, low: UInt64) {
        var low: UInt64 = 0
        while low == 0 {
            traceCounter &+= 1
            low = Self.mix(traceCounter)
        }
        return (tracePrefix, low)
    }

    /// splitmix64's finalizer: a bijection on 64-bit values that spreads consecutive inputs uniformly.
    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3.rotatedLeft(45)
        return result
    }

    /// A span id: random and never 0 (which W3C reserves for "none").
    @inlinable
    public mutating func spanID() -> UInt64 {
        var id = next()
        while id == 0 { id = next() }
        return id
    }
}

extension UInt64 {
    @inlinable
    func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
    }
}
