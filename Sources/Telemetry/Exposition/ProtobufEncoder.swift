import SwiftProtobuf

/// Encodes merged families as length-delimited `io.prometheus.client.MetricFamily` messages.
package struct ProtobufEncoder {
    package init() {}

    package func encode(_ families: [FamilySnapshot]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        for family in families where !family.series.isEmpty {
            let message = self.message(family)
            // Encoding generated messages of our own making cannot fail; skip a family rather than crash.
            guard let bytes: [UInt8] = try? message.serializedBytes() else { continue }
            Self.appendVarint(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        return out
    }

    package func message(_ family: FamilySnapshot) -> Io_Prometheus_Client_MetricFamily {
        var message = Io_Prometheus_Client_MetricFamily()
        message.name = family.sampleName
        message.help = family.help
        if let unit = family.unit {
            message.unit = unit
        }
        switch family.kind {
        case .counter: message.type = .counter
        case .gauge: message.type = .gauge
        case .histogram: message.type = .histogram
        }
        message.metric.reserveCapacity(family.series.count)
        for series in family.series {
            var metric = Io_Prometheus_Client_Metric()
            metric.label = zip(family.labelNames, series.labelValues).map { name, value in
                var pair = Io_Prometheus_Client_LabelPair()
                pair.name = name
                pair.value = value
                return pair
            }
            switch series.value {
            case .counter:
                var counter = Io_Prometheus_Client_Counter()
                counter.value = series.value.counterTotal
                counter.createdTimestamp = Self.timestamp(series.created)
                metric.counter = counter
            case .gauge(let value):
                var gauge = Io_Prometheus_Client_Gauge()
                gauge.value = value
                metric.gauge = gauge
            case .histogram(let histogram):
                metric.histogram = self.histogram(histogram, family: family, created: series.created)
            }
            message.metric.append(metric)
        }
        return message
    }

    private func histogram(
        _ snapshot: HistogramSnapshot,
        family: FamilySnapshot,
        created: Double
    )
        -> Io_Prometheus_Client_Histogram
    {
        var histogram = Io_Prometheus_Client_Histogram()
        histogram.sampleCount = snapshot.count
        histogram.sampleSum = snapshot.sum
        histogram.createdTimestamp = Self.timestamp(created)
        histogram.bucket.reserveCapacity(snapshot.bounds.count)
        for (index, bound) in snapshot.bounds.enumerated() {
            var bucket = Io_Prometheus_Client_Bucket()
            bucket.cumulativeCount = snapshot.cumulative[index]
            bucket.upperBound = bound
            if let labelName = family.exemplarLabelName, let exemplar = snapshot.exemplars[index] {
                bucket.exemplar = Self.exemplar(exemplar, labelName: labelName)
            }
            histogram.bucket.append(bucket)
        }
        // The +Inf bucket is implied by sample_count; send it only to carry its exemplar.
        if let labelName = family.exemplarLabelName, let exemplar = snapshot.exemplars[snapshot.bounds.count] {
            var bucket = Io_Prometheus_Client_Bucket()
            bucket.cumulativeCount = snapshot.count
            bucket.upperBound = .infinity
            bucket.exemplar = Self.exemplar(exemplar, labelName: labelName)
            histogram.bucket.append(bucket)
        }
        if let native = snapshot.native {
            histogram.schema = Int32(native.schema)
            histogram.zeroThreshold = native.zeroThreshold
            histogram.zeroCount = native.zeroCount
            (histogram.positiveSpan, histogram.positiveDelta) = Self.spans(native.positive)
            (histogram.negativeSpan, histogram.negativeDelta) = Self.spans(native.negative)
            if histogram.positiveSpan.isEmpty && histogram.negativeSpan.isEmpty && native.zeroThreshold == 0 {
                // Marks a native histogram with no observations yet (see the schema's comment).
                var span = Io_Prometheus_Client_BucketSpan()
                span.offset = 0
                span.length = 0
                histogram.positiveSpan = [span]
            }
        }
        return histogram
    }

    /// Spans of consecutive buckets and count deltas; gaps of up to two empty buckets are
    /// filled with zeros, which is smaller than starting a new span (as the Go client does).
    package static func spans(
        _ buckets: [(key: Int, count: UInt64)]
    ) -> ([Io_Prometheus_Client_BucketSpan], [Int64]) {
        var spans: [Io_Prometheus_Client_BucketSpan] = []
        var deltas: [Int64] = []
        var previousKey = 0
        var previousCount: Int64 = 0
        for (position, bucket) in buckets.enumerated() {
            let gap = bucket.key - previousKey - 1
            if position == 0 || gap > 2 {
                var span = Io_Prometheus_Client_BucketSpan()
                span.offset = Int32(position == 0 ? bucket.key : gap)
                span.length = 0
                spans.append(span)
            } else {
                for _ in 0..<gap {
                    deltas.append(-previousCount)
                    previousCount = 0
                    spans[spans.count - 1].length += 1
                }
            }
            let count = Int64(bitPattern: bucket.count)
            deltas.append(count - previousCount)
            previousCount = count
            previousKey = bucket.key
            spans[spans.count - 1].length += 1
        }
        return (spans, deltas)
    }

    private static func exemplar(_ exemplar: ExemplarSnapshot, labelName: String) -> Io_Prometheus_Client_Exemplar {
        var message = Io_Prometheus_Client_Exemplar()
        var label = Io_Prometheus_Client_LabelPair()
        label.name = labelName
        let labels = exemplar.exposedLabels(labelName: labelName)
        label.value = labels.value
        message.label = [label]
        if let traceID = labels.traceID {
            var trace = Io_Prometheus_Client_LabelPair()
            trace.name = ExemplarSnapshot.traceIDLabelName
            trace.value = traceID
            message.label.append(trace)
        }
        message.value = exemplar.value
        message.timestamp = Self.timestamp(exemplar.timestamp)
        return message
    }

    private static func timestamp(_ seconds: Double) -> Google_Protobuf_Timestamp {
        let whole = seconds.rounded(.down)
        return Google_Protobuf_Timestamp(seconds: Int64(whole), nanos: Int32((seconds - whole) * 1e9))
    }

    package static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var remaining = value
        while remaining >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        out.append(UInt8(remaining))
    }
}
