import Synchronization

/// What every family shares: its description, its series table and its cardinality guard.
package final class FamilyCore: Sendable {
    package struct Series: Sendable {
        package let labelValues: [String]
        package let cells: SeriesCells
        /// Seconds since the Unix epoch at which the series was created (OpenMetrics `_created`).
        package let created: Double
    }

    private struct Table {
        var index: [[String]: Int] = [:]
        var series: [Series] = []
        var overflow: Series?
        var overflowCounter: SeriesCells?
    }

    /// The overflow series carries this value for every label.
    package static let overflowLabelValue = "__overflow__"

    package let name: String
    package let help: String
    package let unit: String?
    package let labelNames: [String]
    package let kind: MetricKind
    package let maxSeries: Int
    package let slotsPerSeries: Int
    package let space: ShardSpace
    private let table = Mutex(Table())

    package init(
        name: String,
        help: String,
        unit: String?,
        labelNames: [String],
        kind: MetricKind,
        maxSeries: Int,
        slotsPerSeries: Int,
        space: ShardSpace
    ) {
        self.name = name
        self.help = help
        self.unit = unit
        self.labelNames = labelNames
        self.kind = kind
        self.maxSeries = maxSeries
        self.slotsPerSeries = slotsPerSeries
        self.space = space
    }

    // The series' pointer tables (their slots belong to the shard arenas, unmapped with the ``ShardSpace``).
    // Handles hold copies of these tables: they are valid only while the registry, which holds the family,
    // lives.
    deinit {
        self.table.withLock { table in
            for series in table.series {
                series.cells.free()
            }
            table.overflow?.cells.free()
            table.overflowCounter?.free()
        }
    }

    /// Finds or creates the series for `labelValues`; past the series limit, returns the overflow series
    /// together with the cells of the counter of redirected observations.
    package func resolve(_ labelValues: [String]) throws(TelemetryError) -> (cells: SeriesCells, overflow: SeriesCells?)
    {
        guard labelValues.count == self.labelNames.count else {
            throw TelemetryError(
                .invalidLabels,
                "\(self.name) takes \(self.labelNames.count) label values (\(self.labelNames)), got \(labelValues.count)"
            )
        }
        return self.table.withLock { table in
            if let existing = table.index[labelValues] {
                return (table.series[existing].cells, nil)
            }
            if table.series.count < self.maxSeries {
                let series = Series(
                    labelValues: labelValues,
                    cells: self.space.makeCells(slots: self.slotsPerSeries),
                    created: self.space.clock()
                )
                table.index[labelValues] = table.series.count
                table.series.append(series)
                return (series.cells, nil)
            }
            if table.overflow == nil {
                table.overflow = Series(
                    labelValues: self.labelNames.map { _ in Self.overflowLabelValue },
                    cells: self.space.makeCells(slots: self.slotsPerSeries),
                    created: self.space.clock()
                )
                table.overflowCounter = self.space.makeCells(slots: 1)
            }
            return (table.overflow!.cells, table.overflowCounter!)
        }
    }

    /// The series in creation order (the overflow series last) and the overflow counter, if any.
    package func entries() -> (series: [Series], overflowCounter: SeriesCells?) {
        self.table.withLock { table in
            var all = table.series
            if let overflow = table.overflow {
                all.append(overflow)
            }
            return (all, table.overflowCounter)
        }
    }

    package func isCompatible(kind: MetricKind, labelNames: [String]) -> Bool {
        self.kind == kind && self.labelNames == labelNames
    }
}
