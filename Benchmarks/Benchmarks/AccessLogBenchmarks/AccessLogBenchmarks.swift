import AccessLog
import Benchmark
import Foundation

// Realistic traffic: a few routes and nodes, API paths with ids, common user agents, a client pool,
// random request ids (UUID-like hex), skewed durations and sizes, mostly 2xx with some errors.
struct SampleTraffic {
    struct Entry {
        var path: [UInt8]
        var userAgent: [UInt8]
        var requestID: [UInt8]
        var client: ClientAddress
        var route: AccessLogSymbol
        var upstream: AccessLogSymbol
        var error: AccessLogSymbol
        var method: AccessRecord.Method
        var status: UInt16
        var duration: Int64
        var bytesIn: UInt64
        var bytesOut: UInt64
    }

    var entries: [Entry] = []

    init(logger: AccessLogger, count: Int, sequentialIDs: Bool = false) throws {
        var random = SystemRandomNumberGenerator()
        let routes = try ["orders", "users", "catalog", "search", "auth", "cart", "payments", "static"].map {
            try logger.register($0)
        }
        let nodes = try (0..<12).map { try logger.register("10.0.\($0 / 4).\(10 + $0):8080") }
        let timeout = try logger.register("upstream_timeout")
        let agents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            "okhttp/4.12.0", "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1",
            "Prometheus/2.42.0", "kube-probe/1.28",
        ]
        let resources = ["orders", "users", "items", "products", "carts", "sessions", "search", "assets"]
        let processPrefix = String(UInt64.random(in: 0...UInt64.max, using: &random), radix: 16)
        for sequence in 0..<count {
            var entry = Entry(
                path: [],
                userAgent: [],
                requestID: [],
                client: ClientAddress(),
                route: .none,
                upstream: .none,
                error: .none,
                method: .get,
                status: 200,
                duration: 0,
                bytesIn: 0,
                bytesOut: 0
            )
            let routeIndex = Int.random(in: 0..<routes.count, using: &random)
            let resource = resources[routeIndex]
            var path = "/api/v1/\(resource)/\(Int.random(in: 1..<200_000, using: &random))"
            if Int.random(in: 0..<4, using: &random) == 0 { path += "?page=\(Int.random(in: 1..<20, using: &random))" }
            entry.path = Array(path.utf8)
            entry.userAgent = Array(agents[min(Int(Double.random(in: 0..<1, using: &random) * 2.5 * 3), 7)].utf8)
            if sequentialIDs {
                // A per-process random prefix plus a counter (HAProxy-style unique ids).
                entry.requestID = Array("\(processPrefix)-\(String(sequence, radix: 16))".utf8)
            } else {
                // 128 random bits as 32 hex digits, like nginx's $request_id or a UUIDv4.
                entry.requestID = Array(
                    (0..<32).map { _ in "0123456789abcdef".randomElement(using: &random)! }.map { String($0) }
                        .joined().utf8
                )
            }
            entry.client = ClientAddress(
                ipv4: (
                    10, UInt8.random(in: 0..<4, using: &random), UInt8.random(in: 0..<32, using: &random),
                    UInt8.random(in: 1..<255, using: &random)
                )
            )
            entry.route = routes[routeIndex]
            entry.upstream = nodes[Int.random(in: 0..<nodes.count, using: &random)]
            let roll = Int.random(in: 0..<1000, using: &random)
            entry.status =
                roll < 850 ? 200 : roll < 900 ? 201 : roll < 940 ? 304 : roll < 980 ? 404 : roll < 995 ? 500 : 504
            if entry.status == 504 { entry.error = timeout }
            entry.method = roll % 7 == 0 ? .post : .get
            entry.duration = Int64(exp(Double.random(in: 11...16, using: &random)))
            entry.bytesIn = UInt64.random(in: 180..<900, using: &random)
            entry.bytesOut = UInt64(exp(Double.random(in: 5...12, using: &random)))
            self.entries.append(entry)
        }
    }
}

extension AccessRecord {
    /// Fills a record from prepared bytes (no allocation: the arrays are only read).
    @inline(__always)
    mutating func fill(from entry: borrowing SampleTraffic.Entry, time: Int64) {
        self.time = time
        self.duration = entry.duration
        self.upstreamDuration = entry.duration - 150_000
        self.bytesIn = entry.bytesIn
        self.bytesOut = entry.bytesOut
        self.client = entry.client
        self.status = entry.status
        self.upstreamStatus = entry.error == .none ? entry.status : 0
        self.route = entry.route
        self.upstream = entry.upstream
        self.error = entry.error
        self.method = entry.method
        entry.requestID.withUnsafeBytes { self.setRequestID($0) }
        entry.path.withUnsafeBytes { self.setPath($0) }
        entry.userAgent.withUnsafeBytes { self.setUserAgent($0) }
    }
}

let recordsPerRun = 1_000_000

/// A started logger in a fresh `directory` with one ring and prepared sample traffic.
struct SampleLog {
    let logger: AccessLogger
    let ring: AccessLogRing
    let traffic: SampleTraffic

    init(directory: String, compression: AccessLogConfiguration.Compression, sequentialIDs: Bool) {
        try? FileManager.default.removeItem(atPath: directory)
        self.logger = try! AccessLogger(
            configuration: .init(
                destination: .directory(directory),
                compression: compression,
                maxFileSize: nil,
                maxAge: nil,
                ringCapacity: 65_536
            )
        )
        self.traffic = try! SampleTraffic(logger: self.logger, count: 65_536, sequentialIDs: sequentialIDs)
        self.ring = self.logger.makeRing()
        try! self.logger.start()
    }

    /// Pushes `recordsPerRun` records as fast as the ring takes them (retrying while it is full), then
    /// shuts the logger down, which returns once every record is written and the last frame closed.
    func writeAllAndShutDown() {
        var time: Int64 = 1_700_000_000_000_000_000
        self.traffic.entries.withUnsafeBufferPointer { entries in
            for index in 0..<recordsPerRun {
                time &+= 10_000
                let entry = entries.baseAddress! + (index & 65_535)
                while !self.ring.push(filling: { $0.fill(from: entry.pointee, time: time) }) {
                    sched_yield()
                }
            }
        }
        self.logger.shutdown()
    }
}

let benchmarks: @Sendable () -> Void = {
    let scratch = NSTemporaryDirectory() + "/accesslog-bench-\(getpid())"

    // One push per scaled iteration; every 1024 pushes the ring is drained (an empty consumer loop,
    // about 1 ns per record, included in the figure) so the ring never fills and nothing is dropped.
    Benchmark(
        "AccessLog.enqueue",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal],
            scalingFactor: .mega,
            maxDuration: .seconds(3),
            maxIterations: 20,
            thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])]
        )
    ) { benchmark in
        let logger = try! AccessLogger(configuration: .init(destination: .directory(scratch + "-enqueue")))
        let traffic = try! SampleTraffic(logger: logger, count: 4096)
        let ring = AccessLogRing(minimumCapacity: 1024)
        var time: Int64 = 1_700_000_000_000_000_000
        var consumed = 0
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            time &+= 10_000
            traffic.entries.withUnsafeBufferPointer { entries in
                let entry = entries.baseAddress! + (index & 4095)
                ring.push { $0.fill(from: entry.pointee, time: time) }
            }
            if index & 1023 == 1023 {
                consumed &+= ring.drain(limit: 1024) { _ in }
            }
        }
        benchmark.stopMeasurement()
        blackHole(consumed)
        precondition(ring.dropped == 0)
        logger.shutdown()
    }

    // Format + compress + write on the one logging thread: the producer fills the ring as fast as it
    // can (retrying when full), so the logging thread is the bottleneck; the run ends when shutdown
    // has written everything and closed the last frame.
    // Level nil: plain output, which isolates formatting + write from compression.
    let pipelines: [(Int32?, Bool)] = [(3, false), (1, false), (3, true), (1, true), (-1, true), (nil, true)]
    for (level, sequentialIDs) in pipelines {
        let compressionName = level.map { "zstd\($0)" } ?? "plain"
        Benchmark(
            "AccessLog.pipeline.json.\(compressionName)" + (sequentialIDs ? ".sequentialIDs" : ".randomIDs"),
            configuration: .init(
                metrics: [
                    .wallClock, .throughput, .cpuTotal,
                    .custom("compression_x100", polarity: .prefersLarger, useScalingFactor: false),
                    .custom("disk_bytes_per_line_x100", useScalingFactor: false),
                    .custom("log_thread_cpu_ns_per_record", useScalingFactor: false),
                ],
                scalingFactor: .mega,
                maxDuration: .seconds(15),
                maxIterations: 4
            )
        ) { benchmark in
            let directory = scratch + "-\(compressionName)-\(benchmark.currentIteration)"
            let log = SampleLog(
                directory: directory,
                compression: level.map { .zstd(level: $0) } ?? .none,
                sequentialIDs: sequentialIDs
            )
            let logger = log.logger
            let cpuBefore = logger.stats().threadCPUSeconds
            benchmark.startMeasurement()
            log.writeAllAndShutDown()
            benchmark.stopMeasurement()
            let stats = logger.stats()
            precondition(stats.recordsWritten == UInt64(recordsPerRun))
            // CPU of the logging thread alone: the figure that holds on a shared, loaded machine.
            benchmark.measurement(
                .custom("log_thread_cpu_ns_per_record", useScalingFactor: false),
                Int((stats.threadCPUSeconds - cpuBefore) * 1e9) / recordsPerRun
            )
            benchmark.measurement(
                .custom("compression_x100", polarity: .prefersLarger, useScalingFactor: false),
                Int(stats.bytesUncompressed * 100 / max(stats.bytesWritten, 1))
            )
            benchmark.measurement(
                .custom("disk_bytes_per_line_x100", useScalingFactor: false),
                Int(stats.bytesWritten * 100 / stats.recordsWritten)
            )
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // The same kind of lines written plain by the pipeline once, then compressed by `gzip -6` (nginx's
    // `gzip=` style, single-threaded) in the same run: only compress + write is timed for gzip.
    Benchmark(
        "AccessLog.gzip6.sameLines",
        configuration: .init(
            metrics: [
                .wallClock, .throughput, .custom("compression_x100", polarity: .prefersLarger, useScalingFactor: false),
                .custom("disk_bytes_per_line_x100", useScalingFactor: false),
            ],
            scalingFactor: .mega,
            maxDuration: .seconds(15),
            maxIterations: 3
        )
    ) { benchmark in
        let directory = scratch + "-plain-\(benchmark.currentIteration)"
        SampleLog(directory: directory, compression: .none, sequentialIDs: false).writeAllAndShutDown()
        let plain = directory + "/access.log"
        let compressed = directory + "/access.log.gz"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -6 -c '\(plain)' > '\(compressed)'"]
        benchmark.startMeasurement()
        try! process.run()
        process.waitUntilExit()
        benchmark.stopMeasurement()
        let plainSize = (try! FileManager.default.attributesOfItem(atPath: plain)[.size] as! NSNumber).intValue
        let gzipSize = (try! FileManager.default.attributesOfItem(atPath: compressed)[.size] as! NSNumber).intValue
        benchmark.measurement(
            .custom("compression_x100", polarity: .prefersLarger, useScalingFactor: false),
            plainSize * 100 / gzipSize
        )
        benchmark.measurement(
            .custom("disk_bytes_per_line_x100", useScalingFactor: false),
            gzipSize * 100 / recordsPerRun
        )
        try? FileManager.default.removeItem(atPath: directory)
    }
}
