extension ConsistentHashRing {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// xxHash64 (seed 0) of `bytes`: the hash of both ring points and request keys.
    ///
    /// Fast on short keys, well distributed in all 64 bits, and reproducible by any xxHash library,
    /// so operators can predict where a key lands.
    @inline(__always)
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash(bytes, seed: 0)
    }

    /// xxHash64 of `bytes` with `seed`.
    package static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let length = bytes.count
        var offset = 0
        var result: UInt64
        if length >= 32 {
            var lane1 = seed &+ prime1 &+ prime2
            var lane2 = seed &+ prime2
            var lane3 = seed
            var lane4 = seed &- prime1
            while offset &+ 32 <= length {
                lane1 = round(lane1, load64(bytes, offset))
                lane2 = round(lane2, load64(bytes, offset &+ 8))
                lane3 = round(lane3, load64(bytes, offset &+ 16))
                lane4 = round(lane4, load64(bytes, offset &+ 24))
                offset &+= 32
            }
            result = rotate(lane1, 1) &+ rotate(lane2, 7) &+ rotate(lane3, 12) &+ rotate(lane4, 18)
            result = merge(result, lane1)
            result = merge(result, lane2)
            result = merge(result, lane3)
            result = merge(result, lane4)
        } else {
            result = seed &+ prime5
        }
        result &+= UInt64(length)
        while offset &+ 8 <= length {
            result ^= round(0, load64(bytes, offset))
            result = rotate(result, 27) &* prime1 &+ prime4
            offset &+= 8
        }
        if offset &+ 4 <= length {
            let word = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            result ^= UInt64(word) &* prime1
            result = rotate(result, 23) &* prime2 &+ prime3
            offset &+= 4
        }
        while offset < length {
            result ^= UInt64(bytes[offset]) &* prime5
            result = rotate(result, 11) &* prime1
            offset &+= 1
        }
        result ^= result >> 33
        result &*= prime2
        result ^= result >> 29
        result &*= prime3
        result ^= result >> 32
        return result
    }

    @inline(__always)
    private static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 {
        (value << bits) | (value >> (64 &- bits))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotate(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func merge(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        (accumulator ^ round(0, lane)) &* prime1 &+ prime4
    }
}
