/// Encodes merged families as Prometheus text 0.0.4 or OpenMetrics 1.0.0.
package struct TextEncoder {
    package enum Dialect {
        case prometheus004
        case openMetrics100
    }

    package let dialect: Dialect

    package init(_ dialect: Dialect) {
        self.dialect = dialect
    }

    package func encode(_ families: [FamilySnapshot]) -> [UInt8] {
        var out = ByteWriter(capacity: 1 << 16)
        let boundTexts = BoundTextCache()
        for family in families where !family.series.isEmpty {
            self.encodeHeader(family, &out)
            switch family.kind {
            case .counter, .gauge:
                for series in family.series {
                    self.encodeScalar(family, series, &out)
                }
            case .histogram:
                for series in family.series {
                    guard case .histogram(let histogram) = series.value else { continue }
                    self.encodeHistogram(family, series, histogram, boundTexts, &out)
                }
            }
        }
        if self.dialect == .openMetrics100 {
            out.append("# EOF\n")
        }
        return out.bytes
    }

    private func encodeHeader(_ family: FamilySnapshot, _ out: inout ByteWriter) {
        let name = self.dialect == .openMetrics100 ? family.baseName : family.sampleName
        let type: String
        switch family.kind {
        case .counter: type = "counter"
        case .gauge: type = "gauge"
        case .histogram: type = "histogram"
        }
        out.append("# HELP ")
        out.append(name)
        out.append(byte: UInt8(ascii: " "))
        out.appendEscapedHelp(family.help, escapeQuotes: self.dialect == .openMetrics100)
        out.append("\n# TYPE ")
        out.append(name)
        out.append(byte: UInt8(ascii: " "))
        out.append(type)
        out.append(byte: UInt8(ascii: "\n"))
        if self.dialect == .openMetrics100, let unit = family.unit {
            out.append("# UNIT ")
            out.append(name)
            out.append(byte: UInt8(ascii: " "))
            out.append(unit)
            out.append(byte: UInt8(ascii: "\n"))
        }
    }

    private func encodeScalar(_ family: FamilySnapshot, _ series: SeriesSnapshot, _ out: inout ByteWriter) {
        out.append(family.sampleName)
        out.appendLabels(family.labelNames, series.labelValues)
        out.append(byte: UInt8(ascii: " "))
        switch series.value {
        case .counter(let integer, let fraction):
            if fraction == 0 { out.append(integer) } else { out.append(Double(integer) + fraction) }
        case .gauge(let value):
            out.append(value)
        case .histogram:
            break
        }
        out.append(byte: UInt8(ascii: "\n"))
        if family.kind == .counter, self.dialect == .openMetrics100 {
            self.encodeCreated(family, series, &out)
        }
    }

    private func encodeCreated(_ family: FamilySnapshot, _ series: SeriesSnapshot, _ out: inout ByteWriter) {
        out.append(family.baseName)
        out.append("_created")
        out.appendLabels(family.labelNames, series.labelValues)
        out.append(byte: UInt8(ascii: " "))
        out.appendTimestamp(series.created)
        out.append(byte: UInt8(ascii: "\n"))
    }

    private func encodeHistogram(
        _ family: FamilySnapshot,
        _ series: SeriesSnapshot,
        _ histogram: HistogramSnapshot,
        _ boundTexts: BoundTextCache,
        _ out: inout ByteWriter
    ) {
        // The series' labels are escaped once and reused on every bucket line.
        var labels = ByteWriter(capacity: 128)
        labels.appendLabels(family.labelNames, series.labelValues)
        let labelBytes = labels.bytes
        let bucketPrefix = family.baseName + "_bucket"
        for index in 0...histogram.bounds.count {
            out.append(bucketPrefix)
            if labelBytes.isEmpty {
                out.append("{le=\"")
            } else {
                out.bytes.append(contentsOf: labelBytes.dropLast())
                out.append(",le=\"")
            }
            out.append(index < histogram.bounds.count ? boundTexts.text(histogram.bounds[index]) : "+Inf")
            out.append("\"} ")
            out.append(histogram.cumulative[index])
            if self.dialect == .openMetrics100, let labelName = family.exemplarLabelName,
                let exemplar = histogram.exemplars[index]
            {
                out.append(" # {")
                out.append(labelName)
                out.append("=\"")
                let labels = exemplar.exposedLabels(labelName: labelName)
                out.appendEscapedLabelValue(labels.value)
                if let traceID = labels.traceID {
                    out.append("\",")
                    out.append(ExemplarSnapshot.traceIDLabelName)
                    out.append("=\"")
                    out.append(traceID)
                }
                out.append("\"} ")
                out.append(exemplar.value)
                out.append(byte: UInt8(ascii: " "))
                out.appendTimestamp(exemplar.timestamp)
            }
            out.append(byte: UInt8(ascii: "\n"))
        }
        out.append(family.baseName)
        out.append("_sum")
        out.bytes.append(contentsOf: labelBytes)
        out.append(byte: UInt8(ascii: " "))
        out.append(histogram.sum)
        out.append(byte: UInt8(ascii: "\n"))
        out.append(family.baseName)
        out.append("_count")
        out.bytes.append(contentsOf: labelBytes)
        out.append(byte: UInt8(ascii: " "))
        out.append(histogram.count)
        out.append(byte: UInt8(ascii: "\n"))
        if self.dialect == .openMetrics100 {
            out.append(family.baseName)
            out.append("_created")
            out.bytes.append(contentsOf: labelBytes)
            out.append(byte: UInt8(ascii: " "))
            out.appendTimestamp(series.created)
            out.append(byte: UInt8(ascii: "\n"))
        }
    }
}

/// Formats each bucket bound once per scrape rather than once per series.
package final class BoundTextCache {
    private var texts: [UInt64: String] = [:]

    package init() {}

    package func text(_ bound: Double) -> String {
        if let text = self.texts[bound.bitPattern] { return text }
        var writer = ByteWriter(capacity: 24)
        writer.append(bound)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        self.texts[bound.bitPattern] = text
        return text
    }
}
