extension ExemplarSnapshot {
    /// The label that carries the trace id, after the family's own exemplar label.
    package static let traceIDLabelName = "trace_id"

    /// OpenMetrics' limit on an exemplar's label set: names and values together, in code points.
    package static let labelSetLimit = 128

    /// The trace id's 32 lowercase hex digits, or nil when both words are 0 (no trace).
    package static func traceIDText(high: UInt64, low: UInt64) -> String? {
        guard high != 0 || low != 0 else { return nil }
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 32)
        for index in 0..<16 {
            let shift = UInt64(60 - index * 4)
            text[index] = digits[Int((high >> shift) & 0xF)]
            text[16 + index] = digits[Int((low >> shift) & 0xF)]
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The label values to expose with `labelName`: the value, cut so that the whole label set (with
    /// the `trace_id` pair, if any) stays within ``labelSetLimit`` since Prometheus fails a scrape
    /// whose exemplar exceeds it, and the trace id, left out only when `labelName` alone leaves no
    /// room for it.
    package func exposedLabels(labelName: String) -> (value: String, traceID: String?) {
        let room = Self.labelSetLimit - labelName.unicodeScalars.count
        var traceID = self.traceID
        var budget = room
        if let trace = traceID {
            budget -= Self.traceIDLabelName.unicodeScalars.count + trace.unicodeScalars.count
            if budget < 0 {
                traceID = nil
                budget = room
            }
        }
        // UTF-8 bytes bound code points from above: the common short id needs no scalar count.
        if self.labelValue.utf8.count <= budget {
            return (self.labelValue, traceID)
        }
        let scalars = self.labelValue.unicodeScalars
        guard scalars.count > budget else { return (self.labelValue, traceID) }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(max(budget, 0)))
        return (String(cut), traceID)
    }
}
