import Testing
import Tracing

@testable import Gateway

/// `tracing:` and `access_log.sampling` read by ``ConfigLoader``: values, defaults, and refusals that name
/// their key path.
@Suite struct TracingConfigTests {
    @Test func tracingDefaultsAndValues() throws {
        let none = try TLSConfigTests.parse("workers: 1\n")
        #expect(!none.tracing.enabled && none.tracing.otlp == nil && none.tracing.samplingRatio == 0)
        let config = try TLSConfigTests.parse(
            """
            tracing:
              sampling_ratio: 0.25
              service_name: edge
              resource_attributes: {deployment.environment: prod}
              otlp: {endpoint: "http://127.0.0.1:4318/v1/traces", batch_size: 64, flush_interval: 250ms}
            """
        )
        #expect(config.tracing.enabled && config.tracing.samplingRatio == 0.25)
        #expect(config.tracing.serviceName == "edge")
        #expect(config.tracing.resourceAttributes == ["deployment.environment": "prod"])
        let otlp = try #require(config.tracing.otlp)
        #expect(otlp.endpoint == "http://127.0.0.1:4318/v1/traces" && otlp.batchSize == 64)
        #expect(otlp.flushInterval == .milliseconds(250) && otlp.maxQueueSize == 2048 && otlp.timeout == .seconds(10))
        let empty = try TLSConfigTests.parse("tracing: {}\n")
        #expect(empty.tracing.enabled && empty.tracing.samplingRatio == 0)
    }

    @Test(
        arguments: [
            ("tracing: {sampling_ratio: 1.5}\n", "tracing.sampling_ratio", "not 1.5"),
            (
                "routes: [{id: r, uri: /, upstream: {nodes: {\"127.0.0.1:1\": 1}}, tracing: {sampling_ratio: -1}}]\n",
                "routes[0].tracing.sampling_ratio", "not -1"
            ),
            (
                "routes: [{id: r, uri: /, upstream: {nodes: {\"127.0.0.1:1\": 1}}, tracing: {ratio: 1}}]\n",
                "routes[0].tracing.ratio", "unknown key"
            ),
            ("tracing: {sampling_ratio: often}\n", "tracing.sampling_ratio", "expected a number from 0 to 1"),
            ("tracing: {sample_ratio: 0.1}\n", "tracing.sample_ratio", "unknown key"),
            ("tracing: {otlp: {batch_size: 10}}\n", "tracing.otlp.endpoint", "required key is missing"),
            ("tracing: {otlp: {endpoint: \"https://collector:4318/v1/traces\"}}\n", "tracing.otlp.endpoint", "https"),
            ("tracing: {otlp: {endpoint: \"collector:4318\"}}\n", "tracing.otlp.endpoint", "expected an http:// URL"),
            ("tracing: {otlp: {endpoint: \"http://:4318/v1/traces\"}}\n", "tracing.otlp.endpoint", "host[:port]"),
            (
                "tracing: {otlp: {endpoint: \"http://127.0.0.1:4318/v1/traces\", batch_size: 4096}}\n",
                "tracing.otlp.max_queue_size", "at least batch_size"
            ),
            ("access_log: {sampling: {ratio: 2}}\n", "access_log.sampling.ratio", "not 2"),
            (
                "access_log: {sampling: {always: {status: \"sometimes\"}}}\n", "access_log.sampling.always.status",
                ">=400"
            ),
            (
                "access_log: {sampling: {always: {status: \">=700\"}}}\n", "access_log.sampling.always.status",
                "100 to 599"
            ),
            ("access_log: {sampling: {always: {slower: 1s}}}\n", "access_log.sampling.always.slower", "unknown key"),
            (
                "access_log: {sampling: {always: {slower_than: soon}}}\n", "access_log.sampling.always.slower_than",
                "duration"
            ),
        ]
    )
    func refusalsNameTheKeyPath(yaml: String, path: String, reason: String) throws {
        let issue = try TLSConfigTests.issue(yaml, at: path)
        #expect(issue.reason.contains(reason), "\(issue)")
    }

    @Test func accessLogSamplingIsRead() throws {
        let config = try TLSConfigTests.parse(
            """
            access_log:
              path: logs/a.log.zst
              sampling: {ratio: 0.1, always: {status: ">=400", slower_than: 1s}}
            """
        )
        let sampling = try #require(config.accessLog.sampling)
        #expect(sampling.ratio == 0.1 && sampling.alwaysStatus == 400...599 && sampling.alwaysSlowerThan == .seconds(1))
    }

    @Test func statusConditions() {
        #expect(AccessLogSampling.statuses(">=400") == 400...599)
        #expect(AccessLogSampling.statuses(" > 499 ") == 500...599)
        #expect(AccessLogSampling.statuses("<=199") == 100...199)
        #expect(AccessLogSampling.statuses("<200") == 100...199)
        #expect(AccessLogSampling.statuses("==404") == 404...404)
        #expect(AccessLogSampling.statuses("404") == 404...404)
        #expect(AccessLogSampling.statuses("5xx") == 500...599)
        for bad in ["", "4xy", "6xx", ">=99", ">599", "<100", "=404", ">= ", "abc", ">=700", "<=50", "==1000"] {
            #expect(AccessLogSampling.statuses(bad) == nil, "\(bad)")
        }
    }

    @Test func samplingAndTheExporterApplyOnReloadButAddingOrRemovingItNeedsARestart() throws {
        let running = try TLSConfigTests.parse(
            "access_log: {path: logs/a.log.zst}\ntracing: {otlp: {endpoint: \"http://127.0.0.1:4318/v1/traces\"}}\n"
        )
        var requested = try TLSConfigTests.parse(
            """
            access_log: {path: logs/a.log.zst, sampling: {ratio: 0.5}}
            tracing:
              sampling_ratio: 0.5
              service_name: edge-b
              resource_attributes: {deployment.environment.name: test}
              otlp: {endpoint: "http://127.0.0.1:4319/v1/traces", batch_size: 8, flush_interval: 50ms}
            """
        )
        // The exporter takes the new endpoint, batching and resource (the runtime reconfigures it).
        #expect(ConfigReloader.processLevelChanges(running: running, requested: &requested) == [])
        #expect(requested.accessLog.sampling?.ratio == 0.5 && requested.tracing.samplingRatio == 0.5)
        #expect(requested.tracing.otlp?.endpoint == "http://127.0.0.1:4319/v1/traces")
        #expect(requested.tracing.otlp?.batchSize == 8 && requested.tracing.serviceName == "edge-b")
        let configuration = try #require(try SpanExporterConfiguration(requested.tracing))
        #expect(configuration.endpoint.port == 4319 && configuration.batchSize == 8)
        #expect(configuration.flushInterval == .milliseconds(50) && configuration.serviceName == "edge-b")
        #expect(configuration.resourceAttributes == ["deployment.environment.name": "test"])

        // The workers' span rings exist only when the process started with an exporter.
        let without = try TLSConfigTests.parse("tracing: {sampling_ratio: 0.1}\n")
        var adding = try TLSConfigTests.parse("tracing: {otlp: {endpoint: \"http://127.0.0.1:4319/v1/traces\"}}\n")
        #expect(ConfigReloader.processLevelChanges(running: without, requested: &adding) == ["tracing.otlp"])
        #expect(adding.tracing.otlp == nil)
        var removing = try TLSConfigTests.parse("access_log: {path: logs/a.log.zst}\ntracing: {sampling_ratio: 0.1}\n")
        #expect(ConfigReloader.processLevelChanges(running: running, requested: &removing) == ["tracing.otlp"])
        #expect(removing.tracing.otlp?.endpoint == "http://127.0.0.1:4318/v1/traces")
    }
}
