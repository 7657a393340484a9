import Testing

@testable import AccessLog

@Suite struct AccessLogSmokeTests {
    @Test func moduleLoads() {
        #expect(!String(describing: type(of: self)).isEmpty)
    }
}
