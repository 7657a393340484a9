import Testing

@testable import Gateway

@Suite struct NodeOutcomeClassifierTests {
    @Test func passiveListsDecide() {
        let classifier = NodeOutcomeClassifier(passive: PassiveHealthCheck())
        #expect(classifier.outcome(status: 200) == .success)
        #expect(classifier.outcome(status: 299) == .success)
        #expect(classifier.outcome(status: 429) == .httpFailure)
        #expect(classifier.outcome(status: 503) == .httpFailure)
        #expect(classifier.outcome(status: 404) == nil)
        #expect(classifier.outcome(status: 502) == nil)
        #expect(classifier.outcome(status: 9999) == nil && classifier.outcome(status: -1) == nil)
    }

    @Test func withoutPassiveChecksGatewayErrorsFail() {
        let classifier = NodeOutcomeClassifier(passive: nil)
        #expect(classifier.outcome(status: 502) == .httpFailure)
        #expect(classifier.outcome(status: 504) == .httpFailure)
        #expect(classifier.outcome(status: 500) == .success)
        #expect(classifier.outcome(status: 404) == .success)
    }

    @Test func planAdapterDescribesEveryNode() throws {
        let yaml = """
            upstreams:
              - id: a
                nodes: {"127.0.0.1:9001": 1, "127.0.0.1:9002": 1}
                checks: {active: {http_path: /health}}
              - id: b
                nodes: {"127.0.0.1:9003": 1}
            routes:
              - {id: r, uri: /, upstream_id: a}
            """
        let plan = try ProxyPlan(config: ConfigLoader.parse(yaml: yaml, sourceName: "t"))
        let (upstreams, nodes) = HealthController.describe(plan)
        #expect(upstreams.map(\.id) == ["a", "b"] && upstreams[0].checks?.active?.httpPath == "/health")
        #expect(nodes.map(\.label) == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"])
        #expect(nodes.map(\.boardIndex) == [0, 1, 2] && nodes.map(\.nodeIndex) == [0, 1, 0])
        #expect(nodes.map(\.upstreamIndex) == [0, 0, 1] && nodes[2].address.port == 9003)
        #expect(nodes[1].hostHeader == "127.0.0.1:9002")
    }
}
