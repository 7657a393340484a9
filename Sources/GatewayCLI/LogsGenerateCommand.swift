import AccessLog
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Writes synthetic access-log records through the real pipeline, for trying `logs tail`, log
/// shipping set-ups and crash behaviour without traffic. Hidden: a tool, not part of the product.
struct LogsGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write synthetic access-log records (request ids gen-0, gen-1, ...) into a log directory.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Records to write; 0 writes until killed.")
    var count: Int = 1000

    @Option(name: .long, help: "Records per second; 0 for as fast as possible.")
    var rate: Double = 0

    @Option(name: .long, help: "Seconds between forced frame closes.")
    var flushInterval: Double = 1

    @Option(name: .long, help: "Rotate when the file reaches this many bytes.")
    var maxFileSize: Int?

    @Option(name: .long, help: "Line format: json, combined or logfmt.")
    var format: String = "json"

    @Flag(name: .long, help: "Write to standard output instead of a directory.")
    var stdout = false

    @Flag(name: .long, help: "Write plain text instead of zstd frames.")
    var plain = false

    @Argument(help: "The log directory (ignored with --stdout).")
    var directory: String = "."

    func run() throws {
        guard let format = AccessLogFormat(rawValue: self.format) else {
            throw ValidationError("unknown format '\(self.format)'")
        }
        let configuration = AccessLogConfiguration(
            destination: self.stdout ? .standardOutput : .directory(self.directory),
            format: format,
            compression: self.plain ? .none : .zstd(level: 3),
            flushInterval: self.flushInterval,
            maxFileSize: self.maxFileSize,
            maxAge: nil,
            retention: nil
        )
        do {
            let logger = try AccessLogger(configuration: configuration)
            let ring = logger.makeRing()
            let route = try logger.register("generated")
            let upstream = try logger.register("127.0.0.1:8080")
            try logger.start()
            writeStatus("started")
            var index = 0
            let startedAt = Double(clockNanoseconds()) / 1e9
            while self.count == 0 || index < self.count {
                if self.rate > 0 {
                    let due = startedAt + Double(index) / self.rate
                    let now = Double(clockNanoseconds()) / 1e9
                    if due > now { usleep(UInt32((due - now) * 1e6)) }
                }
                let pushed = ring.push { record in
                    record.time = wallNanoseconds()
                    record.duration = 1_500_000
                    record.upstreamDuration = 1_200_000
                    record.status = 200
                    record.upstreamStatus = 200
                    record.bytesIn = 120
                    record.bytesOut = UInt64(index)
                    record.client = ClientAddress(ipv4: (127, 0, 0, 1))
                    record.route = route
                    record.upstream = upstream
                    record.setRequestID("gen-\(index)")
                    record.setPath("/items/\(index)")
                    record.setUserAgent("gateway-logs-generate")
                }
                if pushed { index += 1 } else { usleep(100) }
            }
            logger.shutdown()
            writeStatus("done \(index)")
        } catch {
            throw ValidationError(error.description)
        }
    }
}

private func clockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

private func wallNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Progress messages go to standard error, so standard output can carry the log itself.
private func writeStatus(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}
