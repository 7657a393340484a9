import Benchmark
import Gateway

// The fixture of the benchmark being run: created in its setup, used by its measured closure on
// the benchmark thread only, shut down in its teardown.
nonisolated(unsafe) var fixture: GatewayFixture?

/// Each measured run does 1000 round trips; the malloc gate allows a little constant noise per run
/// (e.g. one-off timer or pool bookkeeping), not one allocation per request.
var roundTripConfiguration: Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 10])]
    )
}

var cpuConfiguration: Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
}

/// Registers a benchmark that does `scaledIterations` keep-alive round trips with `request`.
func roundTripBenchmark(
    _ name: String,
    target: GatewayFixture.Target,
    request: String,
    engine: EngineKind = .ioUring,
    configuration: Benchmark.Configuration = roundTripConfiguration,
    before: @escaping @Sendable () throws -> Void = {},
    after: @escaping @Sendable () -> Void = {}
) {
    Benchmark(
        name,
        configuration: configuration,
        closure: { benchmark in
            if let h2Client = fixture!.h2Client {
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(h2Client.roundTrip())
                }
                benchmark.stopMeasurement()
                return
            }
            if let tlsClient = fixture!.tlsClient {
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(tlsClient.roundTrip())
                }
                benchmark.stopMeasurement()
                return
            }
            let client = fixture!.client
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(client.roundTrip())
            }
            benchmark.stopMeasurement()
        },
        setup: {
            try before()
            fixture = try GatewayFixture(target: target, request: request, engine: engine)
        },
        teardown: {
            fixture?.shutdown()
            fixture = nil
            after()
        }
    )
}

/// Round trips as HTTP/2 streams (1000 per run): a little more constant noise than HTTP/1.1 (the first
/// streams of a run grow the worker's ready queue and nghttp2's stream map), still not one per stream.
var http2StreamConfiguration: Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 20])]
    )
}

/// Fewer round trips per run: each one leaves a client port in TIME_WAIT.
var newConnectionConfiguration: Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 5,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 10])]
    )
}

// Names carry no spaces: `thresholds update` writes `Target.name.p90.json` with spaces turned into
// underscores but `thresholds check` looks the file up by the raw name (benchmark 1.38.1).
let benchmarks: @Sendable () -> Void = {
    roundTripBenchmark("control-GET-upstream-direct", target: .upstreamDirect, request: Requests.get)
    roundTripBenchmark("proxied-GET-keep-alive", target: .gateway, request: Requests.get)
    roundTripBenchmark("mock-route-GET", target: .gateway, request: Requests.mock)
    roundTripBenchmark("proxied-POST-1KiB-content-length", target: .gateway, request: Requests.postContentLength)
    roundTripBenchmark("proxied-POST-1KiB-chunked", target: .gateway, request: Requests.postChunked)
    // The same proxied requests on the epoll engine: zero allocations per request there too.
    roundTripBenchmark("epoll-proxied-GET-keep-alive", target: .gateway, request: Requests.get, engine: .epoll)
    // The same over TLS: records opened and sealed in userspace on both engines, nothing allocated.
    roundTripBenchmark("tls-proxied-GET-keep-alive", target: .gatewayTLS, request: Requests.get)
    roundTripBenchmark("tls-proxied-POST-1KiB-chunked", target: .gatewayTLS, request: Requests.postChunked)
    roundTripBenchmark("epoll-tls-proxied-GET-keep-alive", target: .gatewayTLS, request: Requests.get, engine: .epoll)
    // Tracing on: a propagated (unsampled) trace gets the gateway's own traceparent; a sampled one also
    // pushes a server and a client span per request. Neither allocates.
    roundTripBenchmark("tracing-propagated-GET", target: .gatewayTracing, request: Requests.getTraced)
    roundTripBenchmark("tracing-sampled-GET", target: .gatewayTracing, request: Requests.getSampled)
    roundTripBenchmark(
        "epoll-proxied-POST-1KiB-chunked",
        target: .gateway,
        request: Requests.postChunked,
        engine: .epoll
    )
    // Each plugin alone on a route, its common path (the request passes): no allocation per request.
    for item in PluginBenchmarks.cases {
        roundTripBenchmark(
            "plugin-\(item.name)-GET",
            target: .gateway,
            request: PluginBenchmarks.request(item.name, headers: item.headers)
        )
    }
    // `policy: redis` against a real redis-server: the call queued, pipelined, answered and handed back
    // to the waiting request without an allocation.
    for item in PluginBenchmarks.redisCases {
        roundTripBenchmark(
            "plugin-\(item.name)-GET",
            target: .gateway,
            request: PluginBenchmarks.request(item.name, headers: ""),
            before: { try RedisForBenchmarks.start(port: PluginBenchmarks.redisPort) },
            after: { RedisForBenchmarks.stop(port: PluginBenchmarks.redisPort) }
        )
    }
    // HTTP/2: one stream per round trip on one h2c connection. The gate sees the gateway's own (Swift)
    // allocations; libnghttp2's, made with libc malloc, are invisible to it and measured apart by
    // bench/nghttp2_stream_allocs.c (5 per stream; docs/BENCHMARKS.md).
    roundTripBenchmark(
        "h2c-proxied-GET-stream",
        target: .gatewayHTTP2,
        request: "/api/v1/users/42?fields=name",
        configuration: http2StreamConfiguration
    )
    roundTripBenchmark(
        "control-POST-chunked-upstream-direct",
        target: .upstreamDirect,
        request: Requests.postChunked
    )

    Benchmark(
        "mock-route-GET-new-connection",
        configuration: newConnectionConfiguration,
        closure: { benchmark in
            let client = fixture!.client
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                client.reconnect()
                blackHole(client.roundTrip())
            }
            benchmark.stopMeasurement()
        },
        setup: { fixture = try GatewayFixture(target: .gateway, request: Requests.mock, warmup: 200) },
        teardown: {
            fixture?.shutdown()
            fixture = nil
        }
    )

    Benchmark("HTTP-parse-request-head", configuration: cpuConfiguration) { benchmark, parse in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(parse.run())
        }
        benchmark.stopMeasurement()
    } setup: {
        ParseFixture()
    }

    Benchmark("router-match", configuration: cpuConfiguration) { benchmark, router in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(router.run())
        }
        benchmark.stopMeasurement()
    } setup: {
        try RouterFixture()
    }
}
