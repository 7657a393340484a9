import Glibc

/// Hands out slot indices `0..<capacity`, reusing freed ones first.
package struct SlotAllocator: ~Copyable {
    package let capacity: Int
    private var freeStack: UnsafeMutablePointer<Int32>
    private var freeCount = 0
    /// Slots below this index have been initialized at least once.
    package private(set) var highWater = 0
    package private(set) var live = 0

    package init(capacity: Int) {
        self.capacity = capacity
        freeStack = zeroed(capacity)
    }

    deinit { free(freeStack) }

    /// Returns a slot and whether it is fresh (never initialized); nil when full.
    @inline(__always)
    package mutating func allocate() -> (slot: Int, fresh: Bool)? {
        if freeCount > 0 {
            freeCount -= 1
            live += 1
            return (Int(freeStack[freeCount]), false)
        }
        guard highWater < capacity else { return nil }
        highWater += 1
        live += 1
        return (highWater - 1, true)
    }

    @inline(__always)
    package mutating func release(_ slot: Int) {
        freeStack[freeCount] = Int32(slot)
        freeCount += 1
        live -= 1
    }
}
