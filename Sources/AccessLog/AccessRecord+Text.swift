extension AccessRecord {
    /// Sets the request id from raw bytes (cut with ``truncationMarker`` beyond ``requestIDCapacity``).
    @inlinable
    public mutating func setRequestID(_ bytes: UnsafeRawBufferPointer) {
        self.requestIDLength = UInt8(self.storeText(bytes, at: Self.requestIDOffset, capacity: Self.requestIDCapacity))
    }

    /// Sets the request id from a string without allocating (native strings are contiguous).
    @inlinable
    public mutating func setRequestID(_ string: String) {
        let stored: Void? = string.utf8.withContiguousStorageIfAvailable {
            self.setRequestID(UnsafeRawBufferPointer($0))
        }
        if stored == nil {
            var copy = string
            copy.withUTF8 { self.setRequestID(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Sets the path (with query) from raw bytes (cut with ``truncationMarker`` beyond ``pathCapacity``).
    @inlinable
    public mutating func setPath(_ bytes: UnsafeRawBufferPointer) {
        self.pathLength = UInt16(self.storeText(bytes, at: Self.pathOffset, capacity: Self.pathCapacity))
    }

    /// Sets the path from a string without allocating (native strings are contiguous).
    @inlinable
    public mutating func setPath(_ string: String) {
        let stored: Void? = string.utf8.withContiguousStorageIfAvailable {
            self.setPath(UnsafeRawBufferPointer($0))
        }
        if stored == nil {
            var copy = string
            copy.withUTF8 { self.setPath(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Sets the user agent from raw bytes (cut with ``truncationMarker`` beyond ``userAgentCapacity``).
    @inlinable
    public mutating func setUserAgent(_ bytes: UnsafeRawBufferPointer) {
        self.userAgentLength = UInt8(
            self.storeText(bytes, at: Self.userAgentOffset, capacity: Self.userAgentCapacity)
        )
    }

    /// Sets the user agent from a string without allocating (native strings are contiguous).
    @inlinable
    public mutating func setUserAgent(_ string: String) {
        let stored: Void? = string.utf8.withContiguousStorageIfAvailable {
            self.setUserAgent(UnsafeRawBufferPointer($0))
        }
        if stored == nil {
            var copy = string
            copy.withUTF8 { self.setUserAgent(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Calls `body` with the request id bytes.
    @inlinable
    public func withRequestID<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.requestIDOffset, length: Int(self.requestIDLength), body)
    }

    /// Calls `body` with the path bytes.
    @inlinable
    public func withPath<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.pathOffset, length: Int(self.pathLength), body)
    }

    /// Calls `body` with the user agent bytes.
    @inlinable
    public func withUserAgent<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.userAgentOffset, length: Int(self.userAgentLength), body)
    }

    /// The request id as a string (allocates; for tests and tools).
    public var requestID: String { self.withRequestID { String(decoding: $0, as: UTF8.self) } }
    /// The path as a string (allocates; for tests and tools).
    public var path: String { self.withPath { String(decoding: $0, as: UTF8.self) } }
    /// The user agent as a string (allocates; for tests and tools).
    public var userAgent: String { self.withUserAgent { String(decoding: $0, as: UTF8.self) } }

    @inlinable
    func withText<R>(at offset: Int, length: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: self.text) { all in
            try body(UnsafeRawBufferPointer(rebasing: all[offset..<offset + length]))
        }
    }

    /// Copies `bytes` into the text area, cutting at a UTF-8 boundary and marking the cut; returns the length.
    @inlinable
    mutating func storeText(_ bytes: UnsafeRawBufferPointer, at offset: Int, capacity: Int) -> Int {
        withUnsafeMutableBytes(of: &self.text) { all in
            let destination = all.baseAddress! + offset
            guard bytes.count > capacity else {
                if bytes.count > 0 {
                    destination.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                }
                return bytes.count
            }
            var keep = capacity - 3
            // Never split a multi-byte UTF-8 sequence: back off over continuation bytes.
            while keep > 0 && bytes[keep] & 0xC0 == 0x80 {
                keep -= 1
            }
            destination.copyMemory(from: bytes.baseAddress!, byteCount: keep)
            destination.storeBytes(of: 0xE2, toByteOffset: keep, as: UInt8.self)
            destination.storeBytes(of: 0x80, toByteOffset: keep + 1, as: UInt8.self)
            destination.storeBytes(of: 0xA6, toByteOffset: keep + 2, as: UInt8.self)
            return keep + 3
        }
    }
}
