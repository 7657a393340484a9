/// A duration as Prometheus writes it (`30d`, `4w`, `1h30m`, `250ms`): whole units, largest first.
///
/// Kept as milliseconds, Prometheus's resolution, so a parsed window renders back exactly.
package struct PrometheusDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Length in milliseconds; always positive.
    package var milliseconds: Int64

    /// The default SLO window.
    package static let thirtyDays = PrometheusDuration(milliseconds: 30 * 86_400_000)

    /// Prometheus's units, largest first, with their length in milliseconds.
    private static let units: [(name: String, milliseconds: Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
        ("s", 1000), ("ms", 1),
    ]

    package init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Parses Prometheus's duration syntax; `nil` for anything it rejects, and for zero.
    package init?(parsing text: String) {
        var rest = Substring(text)
        var total: Int64 = 0
        var nextUnit = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            // "ms" before "m": the longest unit name that matches, and units must come largest first.
            let candidates = Self.units.enumerated().filter { rest.hasPrefix($0.element.name) }
            guard let match = candidates.max(by: { $0.element.name.count < $1.element.name.count }),
                match.offset >= nextUnit
            else { return nil }
            rest = rest.dropFirst(match.element.name.count)
            nextUnit = match.offset + 1
            let (product, overflow) = value.multipliedReportingOverflow(by: match.element.milliseconds)
            guard !overflow else { return nil }
            total += product
        }
        guard total > 0 else { return nil }
        self.milliseconds = total
    }

    /// This duration divided by `divisor`, rounded to whole milliseconds (`nil` when that is zero).
    package func divided(by divisor: Double) -> PrometheusDuration? {
        let scaled = (Double(milliseconds) / divisor).rounded()
        guard scaled >= 1 else { return nil }
        return PrometheusDuration(milliseconds: Int64(scaled))
    }

    /// Prometheus's text: the largest units first, e.g. "1h12m", "42s857ms"; weeks and years are not
    /// used, so "30d" stays "30d".
    package var description: String {
        var rest = milliseconds
        var text = ""
        for unit in Self.units where unit.name != "y" && unit.name != "w" {
            let count = rest / unit.milliseconds
            guard count > 0 else { continue }
            text += "\(count)\(unit.name)"
            rest -= count * unit.milliseconds
        }
        return text
    }

    package static func < (lhs: PrometheusDuration, rhs: PrometheusDuration) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }
}
