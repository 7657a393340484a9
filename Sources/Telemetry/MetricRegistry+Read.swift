extension MetricRegistry {
    /// Merges the named families across all shards without touching what the next exposition shows.
    ///
    /// Unlike ``collect()``, this runs no collectors and hides no retiring series, so a reader other than
    /// the scrape (the control plane's status page) can call it as often as it likes. Counters are named
    /// with or without `_total`. Families that are not registered are left out; the overflow series of a
    /// full family is not included. Call it on a control-plane thread, never on a worker.
    package func read(_ names: [String]) -> [FamilySnapshot] {
        let wanted = Set(names.map { $0.hasSuffix("_total") ? String($0.dropLast(6)) : $0 })
        var reader = ShardReader()
        var snapshots: [FamilySnapshot] = []
        for family in self.families() where wanted.contains(family.core.name) {
            let core = family.core
            var snapshot = FamilySnapshot(
                baseName: core.name,
                help: core.help,
                unit: core.unit,
                kind: core.kind,
                labelNames: core.labelNames,
                exemplarLabelName: nil,
                series: []
            )
            let entries = core.listedSeries()
            snapshot.series.reserveCapacity(entries.count)
            for entry in entries {
                let value: SeriesValue
                switch family {
                case .counter: value = reader.readCounter(entry.cells)
                case .gauge: value = reader.readGauge(entry.cells)
                case .histogram(let histogram):
                    snapshot.exemplarLabelName = histogram.exemplarLabelName
                    value = .histogram(
                        reader.readHistogram(entry.cells, layout: histogram.layout.pointee, bounds: histogram.buckets)
                    )
                }
                snapshot.series.append(
                    SeriesSnapshot(labelValues: entry.labelValues, created: entry.created, value: value)
                )
            }
            snapshots.append(snapshot)
        }
        return snapshots
    }
}
