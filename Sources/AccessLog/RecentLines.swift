/// The last `capacity` lines offered, copied into reused buffers (for `tail -n`): reading a file of
/// millions of lines keeps only these, not one string per line.
struct RecentLines {
    private var slots: [[UInt8]] = []
    private var next = 0
    let capacity: Int
    /// Lines offered so far, kept or not.
    private(set) var offered = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    mutating func append(_ line: UnsafeRawBufferPointer) {
        self.offered += 1
        guard self.capacity > 0 else { return }
        if self.slots.count < self.capacity {
            self.slots.append(Array(line))
            return
        }
        self.slots[self.next].removeAll(keepingCapacity: true)
        self.slots[self.next].append(contentsOf: line)
        self.next = (self.next + 1) % self.capacity
    }

    /// The kept lines, oldest first.
    var lines: [String] {
        (self.slots[self.next...] + self.slots[..<self.next]).map { String(decoding: $0, as: UTF8.self) }
    }
}
