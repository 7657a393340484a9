import Synchronization

/// What every family shares: its description, its series table and its cardinality guard.
///
/// A series is created by ``resolve(_:)`` and keeps its cells for as long as the family lives, so resolving
/// the same label values again (for example after a configuration reload) continues the same values.
///
/// ## Retirement
///
/// ``retire(where:)`` retires series whose routes or upstreams went away. A retired series is rendered by
/// the next exposition (``entriesForExposition()``), so that scrape sees its final value, and is hidden
/// from every exposition after that one.
///
/// Workers may still hold handles to a retired series and write to it (a request in flight finishing), so
/// its cells are never freed or reused while the family lives: they move to a map of hidden series keyed
/// by label values. Resolving those label values again revives the same cells, with the values they
/// accumulated, and lists the series again. The memory therefore grows with the distinct label-value sets
/// ever resolved, not only with the listed ones: `slotsPerSeries` 8-byte slots per shard for each. A gateway
/// whose routes and upstreams keep their names across reloads stays within `maxSeries`; one that renames
/// them on every reload grows by the renamed series each time.
///
/// The series limit (`maxSeries`) counts the live series only: listed and not retired. A series retired
/// but not yet scraped does not count, so a reload that replaces a route can create its successor's
/// series before the next scrape; until that scrape the listing may exceed the limit by the retiring
/// series. Hidden series do not count; reviving one counts again and, like creation, goes to the overflow
/// series when the family is full (the hidden cells keep their values for a later revival).
package final class FamilyCore: Sendable {
    package struct Series: Sendable {
        package let labelValues: [String]
        package let cells: SeriesCells
        /// Seconds since the Unix epoch at which the series was created (OpenMetrics `_created`).
        package let created: Double
    }

    private struct Table {
        /// The listed series (rendered by every exposition) in the order they were created or revived.
        var series: [Series] = []
        /// Positions in `series` by label values.
        var index: [[String]: Int] = [:]
        /// Positions in `series` of the series retired since the last exposition: listed by the next one, then
        /// hidden.
        var retiring: Set<Int> = []
        /// Hidden series by label values: never freed while the family lives, revived when resolved again.
        var retired: [[String]: Series] = [:]
        var overflow: Series?
        var overflowCounter: SeriesCells?

        /// The series that count toward the series limit: listed and not retiring.
        var liveCount: Int { self.series.count - self.retiring.count }

        /// Moves the retiring series from the listing to the hidden map, keeping the others' order.
        mutating func hideRetiring() {
            var kept: [Series] = []
            kept.reserveCapacity(self.liveCount)
            for (position, series) in self.series.enumerated() {
                if self.retiring.contains(position) {
                    self.retired[series.labelValues] = series
                } else {
                    kept.append(series)
                }
            }
            self.series = kept
            self.index = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1.labelValues, $0) })
            self.retiring = []
        }
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
            for series in table.retired.values {
                series.cells.free()
            }
            table.overflow?.cells.free()
            table.overflowCounter?.free()
        }
    }

    /// Finds, revives or creates the series for `labelValues`; past the series limit, returns the overflow
    /// series together with the cells of the counter of redirected observations.
    ///
    /// A retired series (scraped or not) comes back with the same cells, so its values continue.
    package func resolve(_ labelValues: [String]) throws(TelemetryError) -> (cells: SeriesCells, overflow: SeriesCells?)
    {
        try self.checkCount(labelValues)
        return self.table.withLock { table in
            let existing = table.index[labelValues]
            if let existing, !table.retiring.contains(existing) {
                return (table.series[existing].cells, nil)
            }
            if table.liveCount < self.maxSeries {
                if let existing {
                    table.retiring.remove(existing)
                    return (table.series[existing].cells, nil)
                }
                if let revived = table.retired.removeValue(forKey: labelValues) {
                    table.index[labelValues] = table.series.count
                    table.series.append(revived)
                    return (revived.cells, nil)
                }
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

    /// Retires the listed series whose label values (in the order of ``labelNames``) satisfy
    /// `shouldRetire`: the next exposition still renders them, later ones do not. Returns how many series
    /// this call retired (series already retiring or hidden are not offered again). The overflow series is
    /// never retired.
    ///
    /// `shouldRetire` runs under the family's lock: it must not call back into the family.
    package func retire(where shouldRetire: ([String]) -> Bool) -> Int {
        self.table.withLock { table in
            var retired = 0
            for (position, series) in table.series.enumerated() where !table.retiring.contains(position) {
                if shouldRetire(series.labelValues) {
                    table.retiring.insert(position)
                    retired += 1
                }
            }
            return retired
        }
    }

    /// Retires the series of exactly these label values; returns whether a listed series was retired.
    package func retire(labelValues: [String]) throws(TelemetryError) -> Bool {
        try self.checkCount(labelValues)
        return self.retire { $0 == labelValues } > 0
    }

    /// Retires every series whose label `labelName` has one of `values`; returns how many were retired.
    package func retire(label labelName: String, values: Set<String>) throws(TelemetryError) -> Int {
        let position = try self.labelPosition(labelName)
        return self.retire { values.contains($0[position]) }
    }

    /// The series an exposition renders, in listing order (the overflow series last), and the overflow
    /// counter, if any.
    ///
    /// Call it once per exposition: the series retired since the previous call are listed this time for the
    /// last time and hidden from then on.
    package func entriesForExposition() -> (series: [Series], overflowCounter: SeriesCells?) {
        self.table.withLock { table in
            var all = table.series
            if let overflow = table.overflow {
                all.append(overflow)
            }
            if !table.retiring.isEmpty {
                table.hideRetiring()
            }
            return (all, table.overflowCounter)
        }
    }

    /// The listed series (retiring ones included) without the overflow series, leaving the listing as it
    /// is: for readers other than the exposition (a status page), which must not hide retiring series
    /// before the next scrape has shown them.
    package func listedSeries() -> [Series] {
        self.table.withLock { $0.series }
    }

    /// The position of `labelName` among ``labelNames``.
    private func labelPosition(_ labelName: String) throws(TelemetryError) -> Int {
        guard let position = self.labelNames.firstIndex(of: labelName) else {
            throw TelemetryError(.invalidLabels, "\(self.name) has no label \(labelName) (\(self.labelNames))")
        }
        return position
    }

    private func checkCount(_ labelValues: [String]) throws(TelemetryError) {
        guard labelValues.count == self.labelNames.count else {
            throw TelemetryError(
                .invalidLabels,
                "\(self.name) takes \(self.labelNames.count) label values (\(self.labelNames)), got \(labelValues.count)"
            )
        }
    }

    package func isCompatible(kind: MetricKind, labelNames: [String]) -> Bool {
        self.kind == kind && self.labelNames == labelNames
    }
}
