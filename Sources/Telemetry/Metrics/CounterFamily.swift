/// A family of monotonically increasing counters sharing a name, help text and label names.
///
/// Resolve a ``CounterHandle`` per label-value combination ahead of time (for example at
/// configuration load) and record through it.
public final class CounterFamily: Sendable {
    package let core: FamilyCore

    /// Slot 0 holds integer increments, slot 1 the bits of fractional (`Double`) increments.
    package static let slots = 2

    package init(core: FamilyCore) {
        self.core = core
    }

    /// The family's name as registered (ending in `_total`).
    public var name: String { self.core.name }

    /// Returns the handle for these label values, in the order of the family's label names.
    ///
    /// Past the family's series limit the handle records into the overflow series.
    public func handle(_ labelValues: [String]) throws(TelemetryError) -> CounterHandle {
        let (cells, overflow) = try self.core.resolve(labelValues)
        return CounterHandle(cells: cells, overflow: overflow)
    }

    /// Returns the handle of a family without labels.
    public func handle() throws(TelemetryError) -> CounterHandle {
        try self.handle([])
    }

    /// Retires the series whose label values (in the order of the family's label names) satisfy
    /// `shouldRetire`, for example those of routes or upstreams a configuration reload removed.
    ///
    /// The next scrape (in any format) still renders a retired series; later scrapes do not. Handles to it
    /// stay valid and may still record (an in-flight request finishing). Its storage is kept for the
    /// registry's lifetime: resolving the same label values again revives it with the value it accumulated,
    /// so a route that comes back continues where it left off. Retired series do not count toward the
    /// family's series limit; a revived one counts again. `shouldRetire` runs under the family's lock: it
    /// must not call back into the family.
    ///
    /// - Returns: how many series this call retired.
    @discardableResult
    public func retire(where shouldRetire: ([String]) -> Bool) -> Int {
        self.core.retire(where: shouldRetire)
    }

    /// Retires the series of these label values (see ``retire(where:)``).
    ///
    /// - Returns: whether this call retired a series (false when none with these label values is listed or
    ///   it is already retired).
    @discardableResult
    public func retire(labelValues: [String]) throws(TelemetryError) -> Bool {
        try self.core.retire(labelValues: labelValues)
    }

    /// Retires every series whose label `labelName` has one of `values`, for example
    /// `retire(label: "route", values: ["r1"])` (see ``retire(where:)``).
    ///
    /// - Returns: how many series this call retired.
    /// - Throws: ``TelemetryError/Code/invalidLabels`` when the family has no label `labelName`.
    @discardableResult
    public func retire(label labelName: String, values: Set<String>) throws(TelemetryError) -> Int {
        try self.core.retire(label: labelName, values: values)
    }
}

/// One counter series, resolved ahead of time. Copy it freely; it holds no references.
///
/// Valid as long as its registry is alive.
public struct CounterHandle: Sendable {
    package let cells: SeriesCells
    package let overflow: SeriesCells?

    /// Adds `amount` on the writer's own shard: a relaxed load and store, no lock, no allocation.
    @inline(__always)
    public func increment(by amount: UInt64 = 1, on writer: borrowing MetricWriter) {
        self.cells.block(writer.shardIndex).addOwned(0, amount)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Adds a fractional `amount` on the writer's own shard. Negative or NaN amounts are ignored.
    @inline(__always)
    public func add(_ amount: Double, on writer: borrowing MetricWriter) {
        guard amount > 0 else { return }
        self.cells.block(writer.shardIndex).addOwnedDouble(1, amount)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Adds `amount` from any thread through the shared shard (an atomic add).
    public func increment(by amount: UInt64 = 1) {
        self.cells.block(self.cells.sharedShard).addShared(0, amount)
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }

    /// Adds a fractional `amount` from any thread through the shared shard. Negative or NaN amounts are ignored.
    public func add(_ amount: Double) {
        guard amount > 0 else { return }
        self.cells.block(self.cells.sharedShard).addSharedDouble(1, amount)
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }

    /// Sets the shared shard's fractional part so the counter reads `total` (for values read from
    /// elsewhere, such as CPU time from `/proc`, by a single collector).
    package func setSharedTotal(_ total: Double) {
        let block = self.cells.block(self.cells.sharedShard)
        block.store(0, 0)
        block.store(1, total.bitPattern)
    }
}
