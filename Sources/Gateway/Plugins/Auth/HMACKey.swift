/// An HMAC key (RFC 2104) over SHA-256, SHA-384 or SHA-512, ready for the worker: the chaining values
/// after the key's inner (ipad) and outer (opad) padded blocks are computed once, when the key is made,
/// so each code costs only the message's blocks and two final blocks, and never allocates.
///
/// A value type holding the two saved states inline (at most 128 bytes); the key bytes themselves are
/// not kept.
package struct HMACKey: Sendable {
    private enum Pads: Sendable {
        case sha256(inner: SHA256Hasher.State, outer: SHA256Hasher.State)
        /// SHA-384 or SHA-512 (``HMACKey/function`` says which, and so the code's length).
        case sha512(inner: SHA512Hasher.State, outer: SHA512Hasher.State)
    }

    /// The hash function the code is made with.
    package let function: SHA2
    private let pads: Pads

    /// Bytes in an authentication code: the hash's digest length.
    package var byteCount: Int { function.digestByteCount }

    /// Prepares `key` for `function`: a key longer than the hash's block is hashed first (RFC 2104 §2),
    /// a shorter one zero-padded; then one block each of key ⊕ ipad and key ⊕ opad is compressed.
    package init(_ function: SHA2, key: UnsafeRawBufferPointer) {
        self.function = function
        var block = InlineArray<128, UInt8>(repeating: 0)
        let blockByteCount = function.blockByteCount
        if key.count > blockByteCount {
            Self.hashKey(function, key, into: &block)
        } else if let start = key.baseAddress {
            SHA256Hasher.copy(start, key.count, to: &block, at: 0)
        }
        for index in 0..<blockByteCount { block[index] ^= 0x36 }
        switch function {
        case .sha256:
            var inner = SHA256Hasher.initialState
            SHA256Hasher.compress(&inner, &block)
            for index in 0..<blockByteCount { block[index] ^= 0x36 ^ 0x5c }
            var outer = SHA256Hasher.initialState
            SHA256Hasher.compress(&outer, &block)
            pads = .sha256(inner: inner, outer: outer)
        case .sha384, .sha512:
            let initial = function == .sha384 ? SHA512Hasher.initialState384 : SHA512Hasher.initialState
            var inner = initial
            SHA512Hasher.compress(&inner, &block)
            for index in 0..<blockByteCount { block[index] ^= 0x36 ^ 0x5c }
            var outer = initial
            SHA512Hasher.compress(&outer, &block)
            pads = .sha512(inner: inner, outer: outer)
        }
        SHA256Hasher.zero(&block, from: 0, to: 128)
    }

    /// Writes the authentication code of `message` to the start of `output`, which must hold
    /// ``byteCount`` bytes. Allocation-free.
    package func authenticationCode(for message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= byteCount, "HMAC output buffer too small")
        code(message, into: output.baseAddress!)
    }

    /// Whether `signature` is the authentication code of `message`, compared in constant time (a
    /// signature of the wrong length, a truncated code included, is not valid). Allocation-free.
    package func isValid(signature: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        // Room for the longest code, on the stack; passed on as a pointer for the call's duration.
        var storage = InlineArray<64, UInt8>(repeating: 0)
        return check(signature, message, &storage)
    }

    private func check(
        _ signature: UnsafeRawBufferPointer,
        _ message: UnsafeRawBufferPointer,
        _ storage: UnsafeMutableRawPointer
    ) -> Bool {
        code(message, into: storage)
        return CredentialIndex.constantTimeEquals(UnsafeRawBufferPointer(start: storage, count: byteCount), signature)
    }

    /// The code: the inner hash continues from the ipad state over `message`, the outer one from the
    /// opad state over the inner digest (each state stands for one block already hashed).
    @inline(__always)
    private func code(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) {
        switch pads {
        case .sha256(let inner, let outer):
            var hasher = SHA256Hasher(resuming: inner, after: UInt64(SHA256Hasher.blockByteCount))
            hasher.update(message)
            hasher.finalize(into: output)
            hasher = SHA256Hasher(resuming: outer, after: UInt64(SHA256Hasher.blockByteCount))
            hasher.update(output, count: SHA256Hasher.digestByteCount)
            hasher.finalize(into: output)
        case .sha512(let inner, let outer):
            let count = function.digestByteCount
            var hasher = SHA512Hasher(resuming: inner, after: UInt64(SHA512Hasher.blockByteCount))
            hasher.update(message)
            hasher.finalize(into: output, byteCount: count)
            hasher = SHA512Hasher(resuming: outer, after: UInt64(SHA512Hasher.blockByteCount))
            hasher.update(output, count: count)
            hasher.finalize(into: output, byteCount: count)
        }
    }

    /// Hashes a key longer than a block into the start of `block`.
    private static func hashKey(_ function: SHA2, _ key: UnsafeRawBufferPointer, into block: UnsafeMutableRawPointer) {
        function.hash(key, into: UnsafeMutableRawBufferPointer(start: block, count: function.digestByteCount))
    }
}
