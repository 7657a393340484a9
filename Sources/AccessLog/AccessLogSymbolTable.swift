import Synchronization

/// The strings records refer to by ``AccessLogSymbol``, registered up front (cold path, any thread).
///
/// Each string's bytes are copied once into memory that lives as long as the table, so the logging
/// thread can hold plain pointers to them; it refreshes its view when ``count`` changes.
final class AccessLogSymbolTable: Sendable {
    /// Longer strings are cut (with the truncation marker) when registered.
    static let maximumLength = 256

    private struct State: ~Copyable {
        var entries: [UnsafeRawBufferPointer] = [UnsafeRawBufferPointer(start: nil, count: 0)]
        var indexByName: [String: UInt16] = [:]
    }

    private let state = Mutex(State())
    private let published = Atomic<Int>(1)

    deinit {
        self.state.withLock { state in
            for entry in state.entries where entry.baseAddress != nil {
                entry.deallocate()
            }
        }
    }

    /// Number of entries including the empty entry 0.
    var count: Int { self.published.load(ordering: .acquiring) }

    /// The index of `name`, registering it if new.
    func register(_ name: String) throws(AccessLogError) -> AccessLogSymbol {
        let result: Result<UInt16, AccessLogError> = self.state.withLock { state in
            if let index = state.indexByName[name] { return .success(index) }
            guard state.entries.count <= Int(UInt16.max) else {
                return .failure(AccessLogError(.invalidArgument, "too many access-log symbols (at most 65535)"))
            }
            var bytes = Array(name.utf8)
            if bytes.count > Self.maximumLength {
                var keep = Self.maximumLength - 3
                while keep > 0 && bytes[keep] & 0xC0 == 0x80 {
                    keep -= 1
                }
                bytes = Array(bytes[0..<keep]) + AccessRecord.truncationMarker
            }
            // Eight spare bytes: the formatter reads short strings as one 8-byte word.
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + 8, alignment: 8)
            storage.initializeMemory(as: UInt8.self, repeating: 0)
            bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
            let index = UInt16(state.entries.count)
            state.entries.append(UnsafeRawBufferPointer(rebasing: storage[0..<bytes.count]))
            state.indexByName[name] = index
            self.published.store(state.entries.count, ordering: .releasing)
            return .success(index)
        }
        return AccessLogSymbol(rawValue: try result.get())
    }

    /// The current entries (index 0 is empty).
    func snapshot() -> [UnsafeRawBufferPointer] {
        self.state.withLock { $0.entries }
    }

    /// The string for `symbol`, or nil if unknown.
    func name(of symbol: AccessLogSymbol) -> String? {
        self.state.withLock { state in
            let index = Int(symbol.rawValue)
            guard index > 0 && index < state.entries.count else { return nil }
            return String(decoding: state.entries[index], as: UTF8.self)
        }
    }
}
