/// A family of gauges sharing a name, help text and label names.
///
/// A gauge reads as the value set through the shared shard plus every writer's own adjustments,
/// so use either ``GaugeHandle/set(_:)`` from one place or ``GaugeHandle/add(_:on:)`` from workers.
public final class GaugeFamily: Sendable {
    package let core: FamilyCore

    /// Slot 0 holds the bits of a `Double`.
    package static let slots = 1

    package init(core: FamilyCore) {
        self.core = core
    }

    /// The family's name.
    public var name: String { self.core.name }

    /// Returns the handle for these label values, in the order of the family's label names.
    public func handle(_ labelValues: [String]) throws(TelemetryError) -> GaugeHandle {
        let (cells, overflow) = try self.core.resolve(labelValues)
        return GaugeHandle(cells: cells, overflow: overflow)
    }

    /// Returns the handle of a family without labels.
    public func handle() throws(TelemetryError) -> GaugeHandle {
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

/// One gauge series, resolved ahead of time. Copy it freely; it holds no references.
///
/// Valid as long as its registry is alive.
public struct GaugeHandle: Sendable {
    package let cells: SeriesCells
    package let overflow: SeriesCells?

    /// Adds `delta` (may be negative) on the writer's own shard: a relaxed load and store.
    @inline(__always)
    public func add(_ delta: Double, on writer: borrowing MetricWriter) {
        self.cells.block(writer.shardIndex).addOwnedDouble(0, delta)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Adds `delta` (may be negative) from any thread through the shared shard.
    public func add(_ delta: Double) {
        self.cells.block(self.cells.sharedShard).addSharedDouble(0, delta)
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }

    /// Sets the shared part of the gauge from any thread.
    public func set(_ value: Double) {
        self.cells.block(self.cells.sharedShard).store(0, value.bitPattern)
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }
}
