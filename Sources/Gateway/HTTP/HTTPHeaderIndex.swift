/// Per-worker scratch that records where each header of the last parsed head lies in its buffer.
///
/// Allocated once and reused for every head, so parsing never allocates. Offsets are relative to the
/// buffer handed to the parser.
// Thread-confined: owned and used by one worker thread; Sendable only so it can be moved there.
public final class HTTPHeaderIndex: @unchecked Sendable {
    private struct Entry {
        var nameStart: Int
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
        var kind: HTTPHeaderKind
        var listedInConnection: Bool
    }

    private let entries: UnsafeMutablePointer<Entry>

    /// How many headers can be recorded; the parser reports 431 beyond it.
    package let capacity: Int

    /// Number of headers recorded for the last parsed head.
    package private(set) var count: Int = 0

    public init(capacity: Int = 128) {
        self.capacity = max(1, capacity)
        self.entries = .allocate(capacity: self.capacity)
    }

    deinit {
        entries.deallocate()
    }

    /// Byte range of the i-th header's name.
    @inline(__always)
    package func name(_ i: Int) -> Range<Int> {
        precondition(i >= 0 && i < count, "header index out of range")
        return entries[i].nameStart..<entries[i].nameEnd
    }

    /// Byte range of the i-th header's value, without surrounding whitespace.
    @inline(__always)
    package func value(_ i: Int) -> Range<Int> {
        precondition(i >= 0 && i < count, "header index out of range")
        return entries[i].valueStart..<entries[i].valueEnd
    }

    /// The i-th header's classified name.
    @inline(__always)
    package func kind(_ i: Int) -> HTTPHeaderKind {
        precondition(i >= 0 && i < count, "header index out of range")
        return entries[i].kind
    }

    /// Whether the i-th header's name appears in a Connection header, which makes it hop-by-hop.
    @inline(__always)
    package func isListedInConnection(_ i: Int) -> Bool {
        precondition(i >= 0 && i < count, "header index out of range")
        return entries[i].listedInConnection
    }

    /// Whether the i-th header must not be forwarded to the next hop.
    @inline(__always)
    package func isHopByHop(_ i: Int) -> Bool {
        kind(i).isHopByHop || isListedInConnection(i)
    }

    /// Index of the first header with this kind, or nil.
    package func first(_ kind: HTTPHeaderKind) -> Int? {
        var i = 0
        while i < count {
            if entries[i].kind == kind { return i }
            i &+= 1
        }
        return nil
    }

    /// Index of the first header whose name equals a lowercase literal (case-insensitively), or nil.
    package func first(named lowercaseName: StaticString, in buffer: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < count {
            if HTTPBytes.equalsIgnoringCase(buffer, name(i), lowercaseName) { return i }
            i &+= 1
        }
        return nil
    }

    @inline(__always)
    func reset() {
        count = 0
    }

    @inline(__always)
    func append(name: Range<Int>, value: Range<Int>, kind: HTTPHeaderKind) {
        entries[count] = Entry(
            nameStart: name.lowerBound,
            nameEnd: name.upperBound,
            valueStart: value.lowerBound,
            valueEnd: value.upperBound,
            kind: kind,
            listedInConnection: false
        )
        count &+= 1
    }

    @inline(__always)
    func markListedInConnection(_ i: Int) {
        entries[i].listedInConnection = true
    }
}
