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
