/// The plans a worker's requests run on: the current one, and older ones that requests in flight
/// started on. A request keeps its plan until it ends, so a reload never changes its route settings,
/// plugins, upstream or timeouts midway; a plan is let go once no request uses it.
///
/// Worker-local and plain counting: no locks or atomics. Plans are read through unretained views, so
/// looking one up costs no reference counting.
package struct PlanSlots: ~Copyable {
    /// How many plans a worker holds at once. A reload that finds every slot still in use moves the
    /// requests on the oldest plan to the current one first, so this bounds memory, never reloads.
    package static let capacity = 8

    /// The strong references that keep the plans alive, by slot.
    private var held: [ProxyPlan?]
    /// The same plans, unretained, for lookups on the request path.
    private let views: UnsafeMutablePointer<Unmanaged<ProxyPlan>>
    /// Requests in flight on each slot's plan.
    private var users: [Int32]
    /// The slot new requests start on.
    package private(set) var current: UInt8 = 0
    /// The slot that was current before the last adoption: kept one more loop turn even when unused,
    /// because connects queued before the switch may still read its socket addresses.
    private var previous: UInt8 = 0

    package init(_ first: ProxyPlan) {
        held = Array(repeating: nil, count: Self.capacity)
        users = Array(repeating: 0, count: Self.capacity)
        views = .allocate(capacity: Self.capacity)
        views.initialize(repeating: Unmanaged.passUnretained(first), count: Self.capacity)
        held[0] = first
    }

    deinit {
        views.deallocate()
    }

    /// The plan in `slot`; valid while a request holds the slot or it is current.
    @inline(__always)
    package func plan(_ slot: UInt8) -> ProxyPlan {
        views[Int(slot)].takeUnretainedValue()
    }

    /// A request starts on the current plan: returns its slot.
    @inline(__always)
    package mutating func enter() -> UInt8 {
        users[Int(current)] &+= 1
        return current
    }

    /// A plan no request uses any more waits to be let go of (at the start of a loop turn, never
    /// while a request is being handled).
    package private(set) var needsCollect = false

    /// A request that started on `slot` ended.
    @inline(__always)
    package mutating func leave(_ slot: UInt8) {
        users[Int(slot)] &-= 1
        if users[Int(slot)] == 0 && slot != current { needsCollect = true }
    }

    /// Requests in flight on the plan in `slot`.
    package func userCount(_ slot: UInt8) -> Int32 { users[Int(slot)] }

    /// How many plans are held (the current one included).
    package var heldCount: Int { held.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Makes `next` the plan new requests start on. Lets go of plans no request uses any more first;
    /// returns false, changing nothing, when every slot is still in use.
    package mutating func adopt(_ next: ProxyPlan) -> Bool {
        collect()
        guard let free = (0..<Self.capacity).first(where: { held[$0] == nil }) else { return false }
        held[free] = next
        views[free] = Unmanaged.passUnretained(next)
        previous = current
        current = UInt8(free)
        // The plan that was `previous` until now may have no requests left.
        collect()
        return true
    }

    /// The held slot with the oldest plan that is neither current nor the one just replaced (nil: none).
    package func oldestMovable() -> UInt8? {
        var oldest: Int? = nil
        for slot in 0..<Self.capacity where held[slot] != nil && slot != Int(current) && slot != Int(previous) {
            if let known = oldest, plan(UInt8(known)).generation <= plan(UInt8(slot)).generation { continue }
            oldest = slot
        }
        return oldest.map { UInt8($0) }
    }

    /// Lets go of every plan that is neither current nor just replaced and that no request uses.
    package mutating func collect() {
        needsCollect = false
        for slot in 0..<Self.capacity where held[slot] != nil {
            guard slot != Int(current), slot != Int(previous), users[slot] == 0 else { continue }
            held[slot] = nil
        }
    }
}
