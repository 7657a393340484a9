/// Access-log sampling (`access_log.sampling`): errors and slow requests are always written, the rest
/// with probability ``ratio``. Skipped lines are counted in `gateway_access_log_sampled_out_total`.
package struct AccessLogSampling: Sendable, Equatable {
    /// Share of the other requests written, 0...1 (`ratio`).
    package var ratio: Double = 1
    /// Responses with a status in this range are always written (`always.status`); nil: none.
    package var alwaysStatus: ClosedRange<Int>?
    /// Requests that took at least this long are always written (`always.slower_than`).
    package var alwaysSlowerThan: Duration?

    package init() {}

    /// The statuses a condition names: `">=400"`, `">499"`, `"<=199"`, `"<200"`, `"==404"`, `"404"`, or a
    /// class such as `"5xx"`. Nil when the text is none of these or names no status from 100 to 599.
    package static func statuses(_ text: String) -> ClosedRange<Int>? {
        var condition = Substring(text)
        while condition.first == " " { condition = condition.dropFirst() }
        while condition.last == " " { condition = condition.dropLast() }
        if condition.count == 3, condition.hasSuffix("xx"), let digit = condition.first?.wholeNumberValue,
            (1...5).contains(digit)
        {
            return digit * 100...digit * 100 + 99
        }
        for comparison in [">=", "<=", "==", ">", "<"] where condition.hasPrefix(comparison) {
            var number = condition.dropFirst(comparison.count)
            while number.first == " " { number = number.dropFirst() }
            // Checked before any range is formed: ">=700" must be refused, not trap.
            guard let status = Int(number), (100...599).contains(status) else { return nil }
            let range: ClosedRange<Int>? =
                switch comparison {
                case ">=": status...599
                case ">": status < 599 ? status + 1...599 : nil
                case "<=": 100...status
                case "<": status > 100 ? 100...status - 1 : nil
                default: status...status
                }
            guard let range, range.lowerBound >= 100, range.upperBound <= 599 else { return nil }
            return range
        }
        guard let status = Int(condition), (100...599).contains(status) else { return nil }
        return status...status
    }
}
