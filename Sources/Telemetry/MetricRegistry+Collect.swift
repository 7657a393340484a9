extension MetricRegistry {
    /// The family that counts observations redirected to overflow series.
    package static let overflowFamilyName = "telemetry_series_overflow"

    /// Runs the collectors, then reads and merges every family from every shard, sorted by name.
    ///
    /// Every exposition goes through here, whatever its format: this is the scrape that lists the series
    /// retired since the previous one for the last time (``FamilyCore/entriesForExposition()``).
    package func collect() -> [FamilySnapshot] {
        self.runCollectors()
        var reader = ShardReader()
        var snapshots: [FamilySnapshot] = []
        var overflow: [SeriesSnapshot] = []
        for family in self.families() {
            let core = family.core
            let (entries, overflowCounter) = core.entriesForExposition()
            var snapshot = FamilySnapshot(
                baseName: core.name,
                help: core.help,
                unit: core.unit,
                kind: core.kind,
                labelNames: core.labelNames,
                exemplarLabelName: nil,
                series: []
            )
            snapshot.series.reserveCapacity(entries.count)
            switch family {
            case .counter:
                for entry in entries {
                    snapshot.series.append(
                        SeriesSnapshot(
                            labelValues: entry.labelValues,
                            created: entry.created,
                            value: reader.readCounter(entry.cells)
                        )
                    )
                }
            case .gauge:
                for entry in entries {
                    snapshot.series.append(
                        SeriesSnapshot(
                            labelValues: entry.labelValues,
                            created: entry.created,
                            value: reader.readGauge(entry.cells)
                        )
                    )
                }
            case .histogram(let histogram):
                snapshot.exemplarLabelName = histogram.exemplarLabelName
                let layout = histogram.layout.pointee
                for entry in entries {
                    let value = reader.readHistogram(entry.cells, layout: layout, bounds: histogram.buckets)
                    snapshot.series.append(
                        SeriesSnapshot(labelValues: entry.labelValues, created: entry.created, value: .histogram(value))
                    )
                }
            }
            snapshots.append(snapshot)
            if let overflowCounter, let created = entries.last?.created {
                overflow.append(
                    SeriesSnapshot(
                        labelValues: [core.name],
                        created: created,
                        value: reader.readCounter(overflowCounter)
                    )
                )
            }
        }
        if !overflow.isEmpty {
            let family = FamilySnapshot(
                baseName: Self.overflowFamilyName,
                help: "Observations redirected to a family's overflow series because it reached its series limit.",
                unit: nil,
                kind: .counter,
                labelNames: ["family"],
                exemplarLabelName: nil,
                series: overflow
            )
            let index = snapshots.firstIndex { $0.baseName > family.baseName } ?? snapshots.endIndex
            snapshots.insert(family, at: index)
        }
        return snapshots
    }
}
