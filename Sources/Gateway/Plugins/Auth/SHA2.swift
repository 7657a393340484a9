/// The SHA-2 hash functions (FIPS 180-4) `jwt-auth` computes itself, so that checking an HS256, HS384 or
/// HS512 token on a worker never allocates (swift-crypto keeps every digest's state in a heap object).
///
/// ``SHA256Hasher`` and ``SHA512Hasher`` hold their whole state inline (chaining value, a partial block,
/// the length) and hash straight from the caller's bytes; ``HMACKey`` builds RFC 2104 HMAC on them.
/// Portable Swift, one block at a time, no SHA extensions or vector code. Release build, HMAC of 200
/// bytes: about 0.8 µs for SHA-256 (swift-crypto, on SHA-NI: 0.55 µs plus 2 allocations) and 0.6 µs for
/// SHA-384/512 (swift-crypto: 1.2 µs).
package enum SHA2: Sendable {
    case sha256
    case sha384
    case sha512

    /// Bytes in a digest (and in an HMAC made with the function).
    package var digestByteCount: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    /// Bytes in one block of the compression function: HMAC pads its key to this length.
    package var blockByteCount: Int {
        switch self {
        case .sha256: return SHA256Hasher.blockByteCount
        case .sha384, .sha512: return SHA512Hasher.blockByteCount
        }
    }

    /// Writes the digest of `message` to the start of `output`, which must hold ``digestByteCount``
    /// bytes. Allocation-free.
    package func hash(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= digestByteCount, "SHA-2 output buffer too small")
        switch self {
        case .sha256:
            var hasher = SHA256Hasher()
            hasher.update(message)
            hasher.finalize(into: output.baseAddress!)
        case .sha384, .sha512:
            var hasher = self == .sha384 ? SHA512Hasher.sha384() : SHA512Hasher()
            hasher.update(message)
            hasher.finalize(into: output.baseAddress!, byteCount: digestByteCount)
        }
    }
}

/// SHA-256, streaming and allocation-free: the state is a value of fixed size (112 bytes).
package struct SHA256Hasher: Sendable {
    /// Bytes in one block of the compression function.
    package static let blockByteCount = 64
    /// Bytes in the digest.
    package static let digestByteCount = 32

    /// The chaining value's 32-bit words.
    package typealias State = InlineArray<8, UInt32>

    /// H(0), FIPS 180-4 §5.3.3.
    package static let initialState: State = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]

    /// The round constants K, FIPS 180-4 §4.2.2.
    private static let k: InlineArray<64, UInt32> = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    private var state: State
    /// The bytes of a block not yet compressed (the first `buffered`).
    private var block: InlineArray<64, UInt8>
    private var buffered: Int
    /// Bytes hashed so far, counting any a resumed state stands for.
    private var length: UInt64

    /// A hasher at the start of a message.
    package init() {
        self.init(resuming: Self.initialState, after: 0)
    }

    /// A hasher continuing from `state`, the chaining value after `length` bytes of whole blocks (HMAC's
    /// saved padded-key state).
    package init(resuming state: State, after length: UInt64) {
        self.state = state
        block = InlineArray(repeating: 0)
        buffered = 0
        self.length = length
    }

    /// Hashes `bytes`.
    @inline(__always)
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        update(start, count: bytes.count)
    }

    /// Hashes the `count` bytes at `bytes`.
    package mutating func update(_ bytes: UnsafeRawPointer, count: Int) {
        var source = bytes
        var remaining = count
        length &+= UInt64(truncatingIfNeeded: count)
        if buffered > 0 {
            let taken = min(Self.blockByteCount &- buffered, remaining)
            Self.copy(source, taken, to: &block, at: buffered)
            buffered &+= taken
            source += taken
            remaining &-= taken
            guard buffered == Self.blockByteCount else { return }
            Self.compress(&state, &block)
            buffered = 0
        }
        while remaining >= Self.blockByteCount {
            Self.compress(&state, source)
            source += Self.blockByteCount
            remaining &-= Self.blockByteCount
        }
        if remaining > 0 {
            Self.copy(source, remaining, to: &block, at: 0)
            buffered = remaining
        }
    }

    /// Pads the message and writes its 32-byte digest to `output`. The hasher is spent afterwards.
    package mutating func finalize(into output: UnsafeMutableRawPointer) {
        let bitLength = length &<< 3
        Self.pad(&block, buffered: buffered, lengthOffset: 56, blockByteCount: Self.blockByteCount)
        if buffered >= 56 {
            Self.compress(&state, &block)
            Self.zero(&block, from: 0, to: 56)
        }
        Self.storeLength(bitLength, in: &block, at: 56)
        Self.compress(&state, &block)
        var index = 0
        while index < 8 {
            output.storeBytes(of: state[unchecked: index].bigEndian, toByteOffset: index &* 4, as: UInt32.self)
            index &+= 1
        }
    }

    /// Folds the 64-byte block at `block` into `state` (FIPS 180-4 §6.2.2), eight rounds per iteration
    /// with the working variables renamed rather than shifted.
    package static func compress(_ state: inout State, _ block: UnsafeRawPointer) {
        var w = InlineArray<16, UInt32>(repeating: 0)
        var index = 0
        while index < 16 {
            w[unchecked: index] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self))
            index &+= 1
        }
        var a = state[unchecked: 0]
        var b = state[unchecked: 1]
        var c = state[unchecked: 2]
        var d = state[unchecked: 3]
        var e = state[unchecked: 4]
        var f = state[unchecked: 5]
        var g = state[unchecked: 6]
        var h = state[unchecked: 7]
        var t = 0
        while t < 64 {
            round(a, b, c, &d, e, f, g, &h, k[unchecked: t] &+ word(&w, t))
            round(h, a, b, &c, d, e, f, &g, k[unchecked: t &+ 1] &+ word(&w, t &+ 1))
            round(g, h, a, &b, c, d, e, &f, k[unchecked: t &+ 2] &+ word(&w, t &+ 2))
            round(f, g, h, &a, b, c, d, &e, k[unchecked: t &+ 3] &+ word(&w, t &+ 3))
            round(e, f, g, &h, a, b, c, &d, k[unchecked: t &+ 4] &+ word(&w, t &+ 4))
            round(d, e, f, &g, h, a, b, &c, k[unchecked: t &+ 5] &+ word(&w, t &+ 5))
            round(c, d, e, &f, g, h, a, &b, k[unchecked: t &+ 6] &+ word(&w, t &+ 6))
            round(b, c, d, &e, f, g, h, &a, k[unchecked: t &+ 7] &+ word(&w, t &+ 7))
            t &+= 8
        }
        state[unchecked: 0] &+= a
        state[unchecked: 1] &+= b
        state[unchecked: 2] &+= c
        state[unchecked: 3] &+= d
        state[unchecked: 4] &+= e
        state[unchecked: 5] &+= f
        state[unchecked: 6] &+= g
        state[unchecked: 7] &+= h
    }

    /// One round: `d` becomes the next `e` and `h` the next `a`; `kw` is K(t) + W(t).
    @inline(__always)
    private static func round(
        _ a: UInt32,
        _ b: UInt32,
        _ c: UInt32,
        _ d: inout UInt32,
        _ e: UInt32,
        _ f: UInt32,
        _ g: UInt32,
        _ h: inout UInt32,
        _ kw: UInt32
    ) {
        let sigma1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)
        let choice = (e & f) ^ (~e & g)
        let t1 = h &+ sigma1 &+ choice &+ kw
        let sigma0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)
        let majority = (a & b) ^ (a & c) ^ (b & c)
        d &+= t1
        h = t1 &+ sigma0 &+ majority
    }

    /// W(t) of the message schedule, kept as a window of the last 16 words.
    @inline(__always)
    private static func word(_ w: inout InlineArray<16, UInt32>, _ t: Int) -> UInt32 {
        if t < 16 { return w[unchecked: t] }
        let w15 = w[unchecked: (t &- 15) & 15]
        let w2 = w[unchecked: (t &- 2) & 15]
        let sigma0 = rotate(w15, 7) ^ rotate(w15, 18) ^ (w15 &>> 3)
        let sigma1 = rotate(w2, 17) ^ rotate(w2, 19) ^ (w2 &>> 10)
        let value = w[unchecked: t & 15] &+ sigma0 &+ w[unchecked: (t &- 7) & 15] &+ sigma1
        w[unchecked: t & 15] = value
        return value
    }

    @inline(__always)
    private static func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x &>> n) | (x &<< (32 &- n))
    }
}

/// SHA-512, or SHA-384 (the same function from another initial value, its digest cut to 48 bytes),
/// streaming and allocation-free: the state is a value of fixed size (208 bytes).
package struct SHA512Hasher: Sendable {
    /// Bytes in one block of the compression function.
    package static let blockByteCount = 128

    /// The chaining value's 64-bit words.
    package typealias State = InlineArray<8, UInt64>

    /// SHA-512's H(0), FIPS 180-4 §5.3.5.
    package static let initialState: State = [
        0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
    ]

    /// SHA-384's H(0), FIPS 180-4 §5.3.4.
    package static let initialState384: State = [
        0xcbbb_9d5d_c105_9ed8, 0x629a_292a_367c_d507, 0x9159_015a_3070_dd17, 0x152f_ecd8_f70e_5939,
        0x6733_2667_ffc0_0b31, 0x8eb4_4a87_6858_1511, 0xdb0c_2e0d_64f9_8fa7, 0x47b5_481d_befa_4fa4,
    ]

    /// The round constants K, FIPS 180-4 §4.2.3.
    private static let k: InlineArray<80, UInt64> = [
        0x428a_2f98_d728_ae22, 0x7137_4491_23ef_65cd, 0xb5c0_fbcf_ec4d_3b2f, 0xe9b5_dba5_8189_dbbc,
        0x3956_c25b_f348_b538, 0x59f1_11f1_b605_d019, 0x923f_82a4_af19_4f9b, 0xab1c_5ed5_da6d_8118,
        0xd807_aa98_a303_0242, 0x1283_5b01_4570_6fbe, 0x2431_85be_4ee4_b28c, 0x550c_7dc3_d5ff_b4e2,
        0x72be_5d74_f27b_896f, 0x80de_b1fe_3b16_96b1, 0x9bdc_06a7_25c7_1235, 0xc19b_f174_cf69_2694,
        0xe49b_69c1_9ef1_4ad2, 0xefbe_4786_384f_25e3, 0x0fc1_9dc6_8b8c_d5b5, 0x240c_a1cc_77ac_9c65,
        0x2de9_2c6f_592b_0275, 0x4a74_84aa_6ea6_e483, 0x5cb0_a9dc_bd41_fbd4, 0x76f9_88da_8311_53b5,
        0x983e_5152_ee66_dfab, 0xa831_c66d_2db4_3210, 0xb003_27c8_98fb_213f, 0xbf59_7fc7_beef_0ee4,
        0xc6e0_0bf3_3da8_8fc2, 0xd5a7_9147_930a_a725, 0x06ca_6351_e003_826f, 0x1429_2967_0a0e_6e70,
        0x27b7_0a85_46d2_2ffc, 0x2e1b_2138_5c26_c926, 0x4d2c_6dfc_5ac4_2aed, 0x5338_0d13_9d95_b3df,
        0x650a_7354_8baf_63de, 0x766a_0abb_3c77_b2a8, 0x81c2_c92e_47ed_aee6, 0x9272_2c85_1482_353b,
        0xa2bf_e8a1_4cf1_0364, 0xa81a_664b_bc42_3001, 0xc24b_8b70_d0f8_9791, 0xc76c_51a3_0654_be30,
        0xd192_e819_d6ef_5218, 0xd699_0624_5565_a910, 0xf40e_3585_5771_202a, 0x106a_a070_32bb_d1b8,
        0x19a4_c116_b8d2_d0c8, 0x1e37_6c08_5141_ab53, 0x2748_774c_df8e_eb99, 0x34b0_bcb5_e19b_48a8,
        0x391c_0cb3_c5c9_5a63, 0x4ed8_aa4a_e341_8acb, 0x5b9c_ca4f_7763_e373, 0x682e_6ff3_d6b2_b8a3,
        0x748f_82ee_5def_b2fc, 0x78a5_636f_4317_2f60, 0x84c8_7814_a1f0_ab72, 0x8cc7_0208_1a64_39ec,
        0x90be_fffa_2363_1e28, 0xa450_6ceb_de82_bde9, 0xbef9_a3f7_b2c6_7915, 0xc671_78f2_e372_532b,
        0xca27_3ece_ea26_619c, 0xd186_b8c7_21c0_c207, 0xeada_7dd6_cde0_eb1e, 0xf57d_4f7f_ee6e_d178,
        0x06f0_67aa_7217_6fba, 0x0a63_7dc5_a2c8_98a6, 0x113f_9804_bef9_0dae, 0x1b71_0b35_131c_471b,
        0x28db_77f5_2304_7d84, 0x32ca_ab7b_40c7_2493, 0x3c9e_be0a_15c9_bebc, 0x431d_67c4_9c10_0d4c,
        0x4cc5_d4be_cb3e_42b6, 0x597f_299c_fc65_7e2a, 0x5fcb_6fab_3ad6_faec, 0x6c44_198c_4a47_5817,
    ]

    private var state: State
    /// The bytes of a block not yet compressed (the first `buffered`).
    private var block: InlineArray<128, UInt8>
    private var buffered: Int
    /// Bytes hashed so far, counting any a resumed state stands for (the 128-bit bit length's high
    /// part is this shifted right by 61).
    private var length: UInt64

    /// A SHA-512 hasher at the start of a message.
    package init() {
        self.init(resuming: Self.initialState, after: 0)
    }

    /// A SHA-384 hasher at the start of a message; finalize it with a `byteCount` of 48.
    package static func sha384() -> SHA512Hasher {
        SHA512Hasher(resuming: initialState384, after: 0)
    }

    /// A hasher continuing from `state`, the chaining value after `length` bytes of whole blocks (HMAC's
    /// saved padded-key state).
    package init(resuming state: State, after length: UInt64) {
        self.state = state
        block = InlineArray(repeating: 0)
        buffered = 0
        self.length = length
    }

    /// Hashes `bytes`.
    @inline(__always)
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        update(start, count: bytes.count)
    }

    /// Hashes the `count` bytes at `bytes`.
    package mutating func update(_ bytes: UnsafeRawPointer, count: Int) {
        var source = bytes
        var remaining = count
        length &+= UInt64(truncatingIfNeeded: count)
        if buffered > 0 {
            let taken = min(Self.blockByteCount &- buffered, remaining)
            SHA256Hasher.copy(source, taken, to: &block, at: buffered)
            buffered &+= taken
            source += taken
            remaining &-= taken
            guard buffered == Self.blockByteCount else { return }
            Self.compress(&state, &block)
            buffered = 0
        }
        while remaining >= Self.blockByteCount {
            Self.compress(&state, source)
            source += Self.blockByteCount
            remaining &-= Self.blockByteCount
        }
        if remaining > 0 {
            SHA256Hasher.copy(source, remaining, to: &block, at: 0)
            buffered = remaining
        }
    }

    /// Pads the message and writes the first `byteCount` bytes of its digest to `output`: 64 for
    /// SHA-512, 48 for SHA-384 (a multiple of 8, at most 64). The hasher is spent afterwards.
    package mutating func finalize(into output: UnsafeMutableRawPointer, byteCount: Int) {
        precondition(byteCount <= 64 && byteCount & 7 == 0, "SHA-512 digests are 8-byte words")
        SHA256Hasher.pad(&block, buffered: buffered, lengthOffset: 112, blockByteCount: Self.blockByteCount)
        if buffered >= 112 {
            Self.compress(&state, &block)
            SHA256Hasher.zero(&block, from: 0, to: 112)
        }
        SHA256Hasher.storeLength(length &>> 61, in: &block, at: 112)
        SHA256Hasher.storeLength(length &<< 3, in: &block, at: 120)
        Self.compress(&state, &block)
        var index = 0
        while index < byteCount &>> 3 {
            output.storeBytes(of: state[unchecked: index].bigEndian, toByteOffset: index &* 8, as: UInt64.self)
            index &+= 1
        }
    }

    /// Folds the 128-byte block at `block` into `state` (FIPS 180-4 §6.4.2), eight rounds per iteration
    /// with the working variables renamed rather than shifted.
    package static func compress(_ state: inout State, _ block: UnsafeRawPointer) {
        var w = InlineArray<16, UInt64>(repeating: 0)
        var index = 0
        while index < 16 {
            w[unchecked: index] = UInt64(bigEndian: block.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self))
            index &+= 1
        }
        var a = state[unchecked: 0]
        var b = state[unchecked: 1]
        var c = state[unchecked: 2]
        var d = state[unchecked: 3]
        var e = state[unchecked: 4]
        var f = state[unchecked: 5]
        var g = state[unchecked: 6]
        var h = state[unchecked: 7]
        var t = 0
        while t < 80 {
            round(a, b, c, &d, e, f, g, &h, k[unchecked: t] &+ word(&w, t))
            round(h, a, b, &c, d, e, f, &g, k[unchecked: t &+ 1] &+ word(&w, t &+ 1))
            round(g, h, a, &b, c, d, e, &f, k[unchecked: t &+ 2] &+ word(&w, t &+ 2))
            round(f, g, h, &a, b, c, d, &e, k[unchecked: t &+ 3] &+ word(&w, t &+ 3))
            round(e, f, g, &h, a, b, c, &d, k[unchecked: t &+ 4] &+ word(&w, t &+ 4))
            round(d, e, f, &g, h, a, b, &c, k[unchecked: t &+ 5] &+ word(&w, t &+ 5))
            round(c, d, e, &f, g, h, a, &b, k[unchecked: t &+ 6] &+ word(&w, t &+ 6))
            round(b, c, d, &e, f, g, h, &a, k[unchecked: t &+ 7] &+ word(&w, t &+ 7))
            t &+= 8
        }
        state[unchecked: 0] &+= a
        state[unchecked: 1] &+= b
        state[unchecked: 2] &+= c
        state[unchecked: 3] &+= d
        state[unchecked: 4] &+= e
        state[unchecked: 5] &+= f
        state[unchecked: 6] &+= g
        state[unchecked: 7] &+= h
    }

    /// One round: `d` becomes the next `e` and `h` the next `a`; `kw` is K(t) + W(t).
    @inline(__always)
    private static func round(
        _ a: UInt64,
        _ b: UInt64,
        _ c: UInt64,
        _ d: inout UInt64,
        _ e: UInt64,
        _ f: UInt64,
        _ g: UInt64,
        _ h: inout UInt64,
        _ kw: UInt64
    ) {
        let sigma1 = rotate(e, 14) ^ rotate(e, 18) ^ rotate(e, 41)
        let choice = (e & f) ^ (~e & g)
        let t1 = h &+ sigma1 &+ choice &+ kw
        let sigma0 = rotate(a, 28) ^ rotate(a, 34) ^ rotate(a, 39)
        let majority = (a & b) ^ (a & c) ^ (b & c)
        d &+= t1
        h = t1 &+ sigma0 &+ majority
    }

    /// W(t) of the message schedule, kept as a window of the last 16 words.
    @inline(__always)
    private static func word(_ w: inout InlineArray<16, UInt64>, _ t: Int) -> UInt64 {
        if t < 16 { return w[unchecked: t] }
        let w15 = w[unchecked: (t &- 15) & 15]
        let w2 = w[unchecked: (t &- 2) & 15]
        let sigma0 = rotate(w15, 1) ^ rotate(w15, 8) ^ (w15 &>> 7)
        let sigma1 = rotate(w2, 19) ^ rotate(w2, 61) ^ (w2 &>> 6)
        let value = w[unchecked: t & 15] &+ sigma0 &+ w[unchecked: (t &- 7) & 15] &+ sigma1
        w[unchecked: t & 15] = value
        return value
    }

    @inline(__always)
    private static func rotate(_ x: UInt64, _ n: UInt64) -> UInt64 {
        (x &>> n) | (x &<< (64 &- n))
    }
}

// Block-buffer helpers both hashers share (raw pointers to their inline blocks).
extension SHA256Hasher {
    /// Copies `count` bytes from `source` to `block + offset`.
    @inline(__always)
    static func copy(_ source: UnsafeRawPointer, _ count: Int, to block: UnsafeMutableRawPointer, at offset: Int) {
        (block + offset).copyMemory(from: source, byteCount: count)
    }

    /// Zeroes `block[start..<end]`.
    @inline(__always)
    static func zero(_ block: UnsafeMutableRawPointer, from start: Int, to end: Int) {
        guard end > start else { return }
        (block + start).initializeMemory(as: UInt8.self, repeating: 0, count: end &- start)
    }

    /// Appends the 0x80 padding byte after the `buffered` message bytes and zeroes the rest of the block
    /// up to the length field at `lengthOffset` (or to the block's end when the field no longer fits; the
    /// caller then compresses that block and pads a fresh one).
    @inline(__always)
    static func pad(_ block: UnsafeMutableRawPointer, buffered: Int, lengthOffset: Int, blockByteCount: Int) {
        block.storeBytes(of: 0x80, toByteOffset: buffered, as: UInt8.self)
        zero(block, from: buffered &+ 1, to: buffered >= lengthOffset ? blockByteCount : lengthOffset)
    }

    /// Stores `value` big-endian at `block + offset`.
    @inline(__always)
    static func storeLength(_ value: UInt64, in block: UnsafeMutableRawPointer, at offset: Int) {
        block.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }
}
