import Testing

@testable import Telemetry

@Suite struct TelemetrySmokeTests {
    @Test func moduleLoads() {
        #expect(!String(describing: type(of: self)).isEmpty)
    }
}
