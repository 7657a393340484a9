extension MetricRegistry {
    /// Retires, in every family that has the label `labelName`, the series whose `labelName` has one of
    /// `values`: for example `retireSeries(label: "route", values: ["r1"])` after a configuration reload
    /// removed route `r1`. Families without that label are left alone.
    ///
    /// The next scrape still renders the retired series; later scrapes do not. Handles to them stay valid,
    /// and resolving the same label values again revives them with their accumulated values
    /// (see ``CounterFamily/retire(where:)``).
    ///
    /// - Returns: how many series were retired, over all families.
    @discardableResult
    public func retireSeries(label labelName: String, values: Set<String>) -> Int {
        guard !values.isEmpty else { return 0 }
        var retired = 0
        for family in self.families() {
            let core = family.core
            guard let position = core.labelNames.firstIndex(of: labelName) else { continue }
            retired += core.retire { values.contains($0[position]) }
        }
        return retired
    }
}
