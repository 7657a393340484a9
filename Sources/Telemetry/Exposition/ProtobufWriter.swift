/// Writes `io.prometheus.client.MetricFamily` messages straight from snapshots.
///
/// Building swift-protobuf messages costs several allocations per series; a scrape of 100k series
/// cannot afford that. This writer emits the same fields (same presence) as ``ProtobufEncoder/message(_:)``,
/// which tests decode with the generated types to prove the two agree. Repeated scalars are packed.
package struct ProtobufWriter {
    private enum Wire: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
    }

    private var family: [UInt8] = []
    private var metric: [UInt8] = []
    private var histogram: [UInt8] = []
    private var scratch: [UInt8] = []

    package init() {}

    package mutating func encode(_ families: [FamilySnapshot]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        for family in families where !family.series.isEmpty {
            self.encodeFamily(family)
            Self.varint(UInt64(self.family.count), &out)
            out.append(contentsOf: self.family)
        }
        return out
    }

    private mutating func encodeFamily(_ snapshot: FamilySnapshot) {
        self.family.removeAll(keepingCapacity: true)
        Self.string(1, snapshot.sampleName, &self.family)
        Self.string(2, snapshot.help, &self.family)
        let type: UInt64
        switch snapshot.kind {
        case .counter: type = 0
        case .gauge: type = 1
        case .histogram: type = 4
        }
        Self.tag(3, .varint, &self.family)
        Self.varint(type, &self.family)
        for series in snapshot.series {
            self.encodeMetric(snapshot, series)
            Self.tag(4, .lengthDelimited, &self.family)
            Self.varint(UInt64(self.metric.count), &self.family)
            self.family.append(contentsOf: self.metric)
        }
        if let unit = snapshot.unit {
            Self.string(5, unit, &self.family)
        }
    }

    private mutating func encodeMetric(_ family: FamilySnapshot, _ series: SeriesSnapshot) {
        self.metric.removeAll(keepingCapacity: true)
        for (name, value) in zip(family.labelNames, series.labelValues) {
            Self.labelPair(1, name, value, &self.metric)
        }
        switch series.value {
        case .counter:
            let created = Self.timestampSize(series.created)
            Self.tag(3, .lengthDelimited, &self.metric)
            Self.varint(UInt64(9 + 1 + Self.varintSize(UInt64(created)) + created), &self.metric)
            Self.double(1, series.value.counterTotal, &self.metric)
            Self.timestamp(3, series.created, &self.metric)
        case .gauge(let value):
            Self.tag(2, .lengthDelimited, &self.metric)
            Self.varint(9, &self.metric)
            Self.double(1, value, &self.metric)
        case .histogram(let snapshot):
            self.encodeHistogram(snapshot, family: family, created: series.created)
            Self.tag(7, .lengthDelimited, &self.metric)
            Self.varint(UInt64(self.histogram.count), &self.metric)
            self.metric.append(contentsOf: self.histogram)
        }
    }

    private mutating func encodeHistogram(_ snapshot: HistogramSnapshot, family: FamilySnapshot, created: Double) {
        self.histogram.removeAll(keepingCapacity: true)
        Self.tag(1, .varint, &self.histogram)
        Self.varint(snapshot.count, &self.histogram)
        Self.double(2, snapshot.sum, &self.histogram)
        for (index, bound) in snapshot.bounds.enumerated() {
            self.bucket(snapshot.cumulative[index], bound, family.exemplarLabelName, snapshot.exemplars[index])
        }
        if let labelName = family.exemplarLabelName, let exemplar = snapshot.exemplars[snapshot.bounds.count] {
            self.bucket(snapshot.count, .infinity, labelName, exemplar)
        }
        if let native = snapshot.native {
            Self.tag(5, .varint, &self.histogram)
            Self.varint(Self.zigzag(Int64(native.schema)), &self.histogram)
            Self.double(6, native.zeroThreshold, &self.histogram)
            Self.tag(7, .varint, &self.histogram)
            Self.varint(native.zeroCount, &self.histogram)
            var positive = self.spans(native.positive, spanField: 12, deltaField: 13)
            self.spans(native.negative, spanField: 9, deltaField: 10)
            if positive == 0 && native.negative.isEmpty && native.zeroThreshold == 0 {
                // The no-op span that marks an empty native histogram.
                Self.tag(12, .lengthDelimited, &self.histogram)
                Self.varint(4, &self.histogram)
                Self.tag(1, .varint, &self.histogram)
                Self.varint(0, &self.histogram)
                Self.tag(2, .varint, &self.histogram)
                Self.varint(0, &self.histogram)
                positive = 1
            }
        }
        Self.timestamp(15, created, &self.histogram)
    }

    private mutating func bucket(
        _ cumulative: UInt64,
        _ bound: Double,
        _ labelName: String?,
        _ exemplar: ExemplarSnapshot?
    ) {
        self.scratch.removeAll(keepingCapacity: true)
        Self.tag(1, .varint, &self.scratch)
        Self.varint(cumulative, &self.scratch)
        Self.double(2, bound, &self.scratch)
        if let labelName, let exemplar {
            let (labelValue, traceID) = exemplar.exposedLabels(labelName: labelName)
            let labelSize = Self.labelPairSize(labelName, labelValue)
            var labelsSize = 1 + Self.varintSize(UInt64(labelSize)) + labelSize
            if let traceID {
                let traceSize = Self.labelPairSize(ExemplarSnapshot.traceIDLabelName, traceID)
                labelsSize += 1 + Self.varintSize(UInt64(traceSize)) + traceSize
            }
            let timestampSize = Self.timestampSize(exemplar.timestamp)
            let size = labelsSize + 9 + 1 + Self.varintSize(UInt64(timestampSize)) + timestampSize
            Self.tag(3, .lengthDelimited, &self.scratch)
            Self.varint(UInt64(size), &self.scratch)
            Self.labelPair(1, labelName, labelValue, &self.scratch)
            if let traceID {
                Self.labelPair(1, ExemplarSnapshot.traceIDLabelName, traceID, &self.scratch)
            }
            Self.double(2, exemplar.value, &self.scratch)
            Self.timestamp(3, exemplar.timestamp, &self.scratch)
        }
        Self.tag(3, .lengthDelimited, &self.histogram)
        Self.varint(UInt64(self.scratch.count), &self.histogram)
        self.histogram.append(contentsOf: self.scratch)
    }

    /// Writes spans and packed deltas like ``ProtobufEncoder/spans(_:)``; returns the span count.
    @discardableResult
    private mutating func spans(_ buckets: [(key: Int, count: UInt64)], spanField: UInt64, deltaField: UInt64) -> Int {
        guard !buckets.isEmpty else { return 0 }
        let (spans, deltas) = ProtobufEncoder.spans(buckets)
        for span in spans {
            let offset = Self.zigzag(Int64(span.offset))
            Self.tag(spanField, .lengthDelimited, &self.histogram)
            Self.varint(UInt64(2 + Self.varintSize(offset) + Self.varintSize(UInt64(span.length))), &self.histogram)
            Self.tag(1, .varint, &self.histogram)
            Self.varint(offset, &self.histogram)
            Self.tag(2, .varint, &self.histogram)
            Self.varint(UInt64(span.length), &self.histogram)
        }
        let size = deltas.reduce(0) { $0 + Self.varintSize(Self.zigzag($1)) }
        Self.tag(deltaField, .lengthDelimited, &self.histogram)
        Self.varint(UInt64(size), &self.histogram)
        for delta in deltas {
            Self.varint(Self.zigzag(delta), &self.histogram)
        }
        return spans.count
    }

    // MARK: Primitives

    @inline(__always)
    private static func tag(_ field: UInt64, _ wire: Wire, _ out: inout [UInt8]) {
        Self.varint(field << 3 | wire.rawValue, &out)
    }

    @inline(__always)
    private static func varint(_ value: UInt64, _ out: inout [UInt8]) {
        var remaining = value
        while remaining >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        out.append(UInt8(remaining))
    }

    @inline(__always)
    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    private static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    private static func double(_ field: UInt64, _ value: Double, _ out: inout [UInt8]) {
        Self.tag(field, .fixed64, &out)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) {
            out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }

    @inline(__always)
    private static func string(_ field: UInt64, _ value: String, _ out: inout [UInt8]) {
        Self.tag(field, .lengthDelimited, &out)
        Self.varint(UInt64(value.utf8.count), &out)
        out.append(contentsOf: value.utf8)
    }

    private static func labelPairSize(_ name: String, _ value: String) -> Int {
        let nameCount = name.utf8.count
        let valueCount = value.utf8.count
        return 2 + Self.varintSize(UInt64(nameCount)) + nameCount + Self.varintSize(UInt64(valueCount)) + valueCount
    }

    private static func labelPair(_ field: UInt64, _ name: String, _ value: String, _ out: inout [UInt8]) {
        Self.tag(field, .lengthDelimited, &out)
        Self.varint(UInt64(Self.labelPairSize(name, value)), &out)
        Self.string(1, name, &out)
        Self.string(2, value, &out)
    }

    /// google.protobuf.Timestamp: zero fields are omitted, as proto3 does.
    private static func timestampParts(_ seconds: Double) -> (UInt64, UInt64) {
        let whole = seconds.rounded(.down)
        return (UInt64(bitPattern: Int64(whole)), UInt64(Int32((seconds - whole) * 1e9)))
    }

    private static func timestampSize(_ seconds: Double) -> Int {
        let (whole, nanos) = Self.timestampParts(seconds)
        return (whole == 0 ? 0 : 1 + Self.varintSize(whole)) + (nanos == 0 ? 0 : 1 + Self.varintSize(nanos))
    }

    private static func timestamp(_ field: UInt64, _ seconds: Double, _ out: inout [UInt8]) {
        let (whole, nanos) = Self.timestampParts(seconds)
        Self.tag(field, .lengthDelimited, &out)
        Self.varint(UInt64(Self.timestampSize(seconds)), &out)
        if whole != 0 {
            Self.tag(1, .varint, &out)
            Self.varint(whole, &out)
        }
        if nanos != 0 {
            Self.tag(2, .varint, &out)
            Self.varint(nanos, &out)
        }
    }
}
