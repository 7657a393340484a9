import Testing
import Tracing

@Suite struct SpanExporterConfigurationTests {
    @Test func endpointURLsAreSplitIntoHostPortAndPath() throws {
        let full = try SpanExporterConfiguration.Endpoint(url: "http://127.0.0.1:4318/v1/traces")
        #expect(full == .init(host: "127.0.0.1", port: 4318, path: "/v1/traces"))
        #expect(full.hostHeader == "127.0.0.1:4318")
        // No path: OTLP/HTTP's default traces path; no port: 80.
        let bare = try SpanExporterConfiguration.Endpoint(url: "http://collector")
        #expect(bare == .init(host: "collector", port: 80, path: "/v1/traces"))
        #expect(bare.hostHeader == "collector")
        let six = try SpanExporterConfiguration.Endpoint(url: "HTTP://[::1]:9000/otlp/traces?x=1")
        #expect(six == .init(host: "::1", port: 9000, path: "/otlp/traces?x=1"))
        #expect(six.hostHeader == "[::1]:9000")
        #expect(six.description == "http://[::1]:9000/otlp/traces?x=1")
    }

    @Test func httpsAndMalformedEndpointsAreRefusedWithTheirKey() {
        #expect {
            try SpanExporterConfiguration.Endpoint(url: "https://collector:4318/v1/traces")
        } throws: { error in
            let error = error as? SpanExporterError
            return error?.code == .invalidConfiguration && error!.message.contains("tracing.otlp.endpoint")
                && error!.message.contains("https is not supported")
        }
        for bad in ["collector:4318", "http://", "http://host:0/", "http://host:99999", "http://host:x", "grpc://h"] {
            #expect(throws: SpanExporterError.self, "\(bad)") { try SpanExporterConfiguration.Endpoint(url: bad) }
        }
    }

    @Test func defaultsAndValidation() throws {
        var configuration = try SpanExporterConfiguration(endpoint: "http://127.0.0.1:4318/v1/traces")
        #expect(configuration.batchSize == 512)
        #expect(configuration.flushInterval == .seconds(1))
        #expect(configuration.maxQueueSize == 2048)
        #expect(configuration.serviceName == "gateway")
        try configuration.validate()
        configuration.batchSize = 0
        #expect(throws: SpanExporterError.self) { try configuration.validate() }
        configuration.batchSize = 4096
        #expect(throws: SpanExporterError.self) { try configuration.validate() }
        configuration.batchSize = 10
        configuration.flushInterval = .zero
        #expect(throws: SpanExporterError.self) { try SpanExporter(configuration: configuration) }
    }
}
