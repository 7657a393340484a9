import Testing

@testable import Gateway

@Suite struct GatewaySmokeTests {
    @Test func moduleLoads() {
        #expect(!String(describing: type(of: self)).isEmpty)
    }
}
