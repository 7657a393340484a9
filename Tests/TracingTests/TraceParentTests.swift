import Testing
import Tracing

@Suite struct TraceParentTests {
    static func parse(_ text: String) -> TraceParent? {
        Array(text.utf8).withUnsafeBytes { TraceParent.parse($0) }
    }

    @Test func theSpecificationsExampleIsReadAndWrittenBack() throws {
        let example = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let parsed = try #require(Self.parse(example))
        #expect(parsed.traceIDHigh == 0x0af7_6519_16cd_43dd && parsed.traceIDLow == 0x8448_eb21_1c80_319c)
        #expect(parsed.parentID == 0xb7ad_6b71_6920_3331 && parsed.flags == 1 && parsed.sampled)
        var bytes = [UInt8](repeating: 0, count: TraceParent.length)
        bytes.withUnsafeMutableBytes {
            TraceParent.write(
                traceIDHigh: parsed.traceIDHigh,
                traceIDLow: parsed.traceIDLow,
                spanID: parsed.parentID,
                flags: parsed.flags,
                to: $0.baseAddress!
            )
        }
        #expect(String(decoding: bytes, as: UTF8.self) == example)
    }

    @Test func valuesTheSpecificationSaysToIgnoreAreRejected() {
        let good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        #expect(Self.parse(good)?.sampled == false)
        let rejected = [
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  // upper case
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",  // zero trace id
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  // zero parent id
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // version ff
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  // version 00 with more
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",  // short parent id
            "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
            "",
        ]
        for value in rejected { #expect(Self.parse(value) == nil, "\(value)") }
        // A later version is read by its first four fields when what follows starts with "-".
        #expect(Self.parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future") != nil)
        #expect(Self.parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x") == nil)
    }

    @Test func generatedSpanIdsAreNonZeroAndDistinct() {
        var generator = TraceIDGenerator(seed: (1, 2, 3, 4))
        var seen = Set<UInt64>()
        for _ in 0..<10_000 { seen.insert(generator.spanID()) }
        #expect(seen.count == 10_000 && !seen.contains(0))
        var fromKernel = TraceIDGenerator(salt: 7)
        var other = TraceIDGenerator(salt: 7)
        #expect(fromKernel.next() != other.next())
        #expect(fromKernel.traceID().high != other.traceID().high)
    }

    @Test func traceIdsAreUniqueNonZeroAndSpreadInTheirLowBits() {
        var generator = TraceIDGenerator(seed: (5, 6, 7, 8))
        var lows = Set<UInt64>()
        var belowQuarter = 0
        let high = generator.traceID().high
        for _ in 0..<100_000 {
            let id = generator.traceID()
            #expect(id.high == high && id.high != 0 && id.low != 0)
            lows.insert(id.low)
            if id.low < UInt64.max / 4 { belowQuarter += 1 }
        }
        #expect(lows.count == 100_000)
        // Ratio sampling reads the low bits: a quarter of the ids fall under a quarter of the range.
        #expect((23_500...26_500).contains(belowQuarter), "\(belowQuarter)")
    }
}
