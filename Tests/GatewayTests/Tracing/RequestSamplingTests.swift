import Testing

@testable import Gateway

/// The plan's per-request decisions: which new traces are sampled, which access lines are written.
@Suite struct RequestSamplingTests {
    @Test func traceSamplingFollowsTheRatioOnTheTraceIDsLowBits() {
        var settings = TracingSettings()
        #expect(!RequestSampling(tracing: settings, accessLog: nil).tracing)
        settings.enabled = true
        let propagateOnly = RequestSampling(tracing: settings, accessLog: nil)
        #expect(propagateOnly.tracing && !propagateOnly.startsTraces)
        settings.samplingRatio = 0.25
        let quarter = RequestSampling(tracing: settings, accessLog: nil)
        #expect(quarter.startsTraces)
        #expect(quarter.samples(traceIDLow: 0) && quarter.samples(traceIDLow: UInt64.max / 4 - 1))
        #expect(!quarter.samples(traceIDLow: UInt64.max / 4 + 1) && !quarter.samples(traceIDLow: .max))
        var sampled = 0
        var state: UInt64 = 1
        for _ in 0..<100_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if quarter.samples(traceIDLow: state) { sampled += 1 }
        }
        #expect((23_000...27_000).contains(sampled), "\(sampled)")
        settings.samplingRatio = 1
        #expect(RequestSampling(tracing: settings, accessLog: nil).samples(traceIDLow: .max))
    }

    @Test func errorsSlowRequestsAndSampledTracesAreAlwaysLogged() {
        var log = AccessLogSampling()
        log.ratio = 0
        log.alwaysStatus = 400...599
        log.alwaysSlowerThan = .seconds(1)
        let sampling = RequestSampling(tracing: TracingSettings(), accessLog: log)
        #expect(sampling.logSampling)
        #expect(!sampling.logs(status: 200, duration: 1_000, sampledTrace: false, random: 0))
        #expect(sampling.logs(status: 404, duration: 1_000, sampledTrace: false, random: .max))
        #expect(sampling.logs(status: 503, duration: 1_000, sampledTrace: false, random: .max))
        #expect(sampling.logs(status: 200, duration: 1_000_000_000, sampledTrace: false, random: .max))
        #expect(sampling.logs(status: 200, duration: 1_000, sampledTrace: true, random: .max))
        #expect(RequestSampling().logs(status: 200, duration: 0, sampledTrace: false, random: .max))
    }

    @Test func otherLinesAreWrittenAtTheRatio() {
        var log = AccessLogSampling()
        log.ratio = 0.1
        let sampling = RequestSampling(tracing: TracingSettings(), accessLog: log)
        var written = 0
        var state: UInt64 = 7
        for _ in 0..<100_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if sampling.logs(status: 200, duration: 0, sampledTrace: false, random: state) { written += 1 }
        }
        #expect((9_000...11_000).contains(written), "\(written)")
    }
}
