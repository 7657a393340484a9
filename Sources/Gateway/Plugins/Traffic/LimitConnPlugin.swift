import Synchronization

/// `limit-conn`: at most `conn` + `burst` requests per key in flight at once, as APISIX's `limit-conn`
/// (lua-resty-limit-traffic's `limit.conn`) runs it. A request that makes the key's count exceed
/// `conn + burst` is rejected (429 unless `rejected_code` says otherwise, for consistency with the
/// other limits; APISIX's is 503); one that makes it exceed `conn` waits unit × ⌊(count − 1) / conn⌋
/// on the worker's timer first. The unit starts at `default_conn_delay` seconds and, unless
/// `only_use_default_delay`, follows the requests' latency as in APISIX: each finished request moves
/// it halfway to its own time from the end of its wait to its end.
///
/// `access` takes a place in the key's count and `log` gives it back. The request remembers the place
/// in its ``PluginRequest/stash``: the table's tag, the slot and the time its wait ended. The stash is
/// one per request, so when a request meets a second `limit-conn` (a global rule's and a route's), the
/// second checks its limit without holding a place. A `log` whose stash names another table (its plan
/// was replaced meanwhile with other settings) gives nothing back there; a count never goes below 0.
package final class LimitConnPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "limit-conn",
        priority: 1003,
        phases: [.access, .log],
        keys: [
            "conn", "burst", "default_conn_delay", "only_use_default_delay", "key_type", "key", "rejected_code",
            "rejected_msg", "allow_degradation", "policy",
        ] + LimitSupport.redisKeys,
        compile: { settings in LimitConnPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The counts, and the delay unit every worker adapts.
    final class State: Sendable {
        let table: LimitTable
        /// Nanoseconds.
        let unit: Atomic<UInt64>

        init(table: LimitTable, unit: UInt64) {
            self.table = table
            self.unit = Atomic(unit)
        }
    }

    // The stash: held (1 bit), table tag (16), slot (15), end of the wait in milliseconds (32, wrapping).
    private static let held: UInt64 = 1 << 63
    private static let slotMask: UInt64 = (1 << 15) - 1
    private static let timeMask: UInt64 = (1 << 32) - 1

    private let state: State
    private let key: LimitKey
    private let conn: UInt64
    private let ceiling: UInt64
    private let onlyDefaultDelay: Bool
    private let rejectedCode: Int
    private let message: PluginText
    private let degrade: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        for required in ["conn", "burst", "default_conn_delay"] where !settings.has(required) {
            settings.missing(required)
        }
        let conn = settings.int("conn", in: 1...1_000_000_000)
        let burst = settings.int("burst", in: 0...1_000_000_000)
        let delay = LimitSupport.positiveNumber(&settings, "default_conn_delay", maximum: 86400)
        onlyDefaultDelay = settings.bool("only_use_default_delay") ?? false
        let key = LimitKey.read(&settings, types: ["var", "var_combination"], defaultKey: nil)
        (rejectedCode, message) = LimitSupport.readRejection(&settings)
        LimitSupport.readLocalPolicy(&settings)
        degrade = settings.bool("allow_degradation") ?? false
        guard settings.issueCount == start, let conn, let burst, let delay, let key else { return nil }
        self.key = key
        self.conn = UInt64(conn)
        ceiling = UInt64(conn + burst)
        let capacity = key.isConstant ? 1 : LimitTable.variableCapacity
        state = settings.sharedState { State(table: LimitTable(capacity: capacity), unit: UInt64(delay * 1e9)) }
    }

    package func access(_ request: PluginRequest) -> PluginVerdict {
        let table = state.table
        let ceiling = self.ceiling
        let hash = key.hash(request)
        if request.stash & Self.held != 0 {
            // Another limit-conn holds this request's stash: check without taking a place.
            var count: UInt64 = 0
            _ = table.update(
                hash,
                overflow: !degrade,
                idle: { $0 == 0 },
                next: { state, _ in
                    count = state
                    return nil
                }
            )
            guard count < ceiling else { return .reject(status: rejectedCode, message: message.bytes) }
            return LimitSupport.delay(delay(count + 1))
        }
        let outcome = table.update(
            hash,
            overflow: !degrade,
            idle: { $0 == 0 },
            next: { state, _ in state < ceiling ? state + 1 : nil }
        )
        guard outcome.slot >= 0 else { return .proceed }
        guard outcome.committed else { return .reject(status: rejectedCode, message: message.bytes) }
        let wait = delay(outcome.state)
        let waited = (request.now + wait) / 1_000_000
        request.stash =
            Self.held | UInt64(table.tag) << 47 | (UInt64(outcome.slot) & Self.slotMask) << 32 | waited & Self.timeMask
        return LimitSupport.delay(wait)
    }

    package func log(_ request: PluginRequest) {
        let stash = request.stash
        let table = state.table
        guard stash & Self.held != 0, UInt16(truncatingIfNeeded: stash >> 47) == table.tag else { return }
        let slot = Int((stash >> 32) & Self.slotMask)
        guard slot <= table.overflowSlot else { return }
        request.stash = 0
        table.modify(slot: slot) { $0 > 0 ? $0 - 1 : 0 }
        guard !onlyDefaultDelay else { return }
        let latency = LimitSupport.elapsed(
            from: stash & Self.timeMask,
            to: request.now / 1_000_000,
            mask: Self.timeMask
        )
        let nanoseconds = latency * 1_000_000
        let unit = state.unit.load(ordering: .relaxed)
        // Racing workers may each average from the same unit: it is an estimate, not a count.
        state.unit.store(unit / 2 + nanoseconds / 2, ordering: .relaxed)
    }

    /// The wait for the request that brought the key's count to `count`.
    @inline(__always)
    private func delay(_ count: UInt64) -> UInt64 {
        guard count > conn else { return 0 }
        let (wait, overflow) = state.unit.load(ordering: .relaxed).multipliedReportingOverflow(by: (count - 1) / conn)
        return overflow ? .max : wait
    }
}
