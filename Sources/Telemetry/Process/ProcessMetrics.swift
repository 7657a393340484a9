#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The standard `process_*` metrics, read from `/proc/self` on the scraping thread before each scrape.
public struct ProcessMetrics: Sendable {
    /// One reading of the process' statistics.
    public struct Sample: Sendable, Equatable {
        public var cpuSeconds: Double
        public var residentMemoryBytes: Double
        public var virtualMemoryBytes: Double
        public var openFileDescriptors: Double
        public var maxFileDescriptors: Double
        public var startTimeSeconds: Double
    }

    private let cpu: CounterHandle
    private let resident: GaugeHandle
    private let virtual: GaugeHandle
    private let openFDs: GaugeHandle
    private let maxFDs: GaugeHandle
    private let startTime: GaugeHandle

    /// Registers the process families in `registry` and a collector that refreshes them on each scrape.
    @discardableResult
    public static func register(in registry: MetricRegistry) throws(TelemetryError) -> ProcessMetrics {
        let metrics = ProcessMetrics(
            cpu: try registry.counter(
                "process_cpu_seconds_total",
                help: "Total user and system CPU time spent in seconds.",
                unit: "seconds"
            ).handle(),
            resident: try registry.gauge(
                "process_resident_memory_bytes",
                help: "Resident memory size in bytes.",
                unit: "bytes"
            ).handle(),
            virtual: try registry.gauge(
                "process_virtual_memory_bytes",
                help: "Virtual memory size in bytes.",
                unit: "bytes"
            ).handle(),
            openFDs: try registry.gauge("process_open_fds", help: "Number of open file descriptors.").handle(),
            maxFDs: try registry.gauge("process_max_fds", help: "Maximum number of open file descriptors.").handle(),
            startTime: try registry.gauge(
                "process_start_time_seconds",
                help: "Start time of the process since unix epoch in seconds.",
                unit: "seconds"
            ).handle()
        )
        _ = try Self.read()
        registry.addCollector {
            metrics.refresh()
        }
        return metrics
    }

    /// Reads `/proc` now and updates the gauges; a failed read leaves the previous values.
    public func refresh() {
        guard let sample = try? Self.read() else { return }
        self.cpu.setSharedTotal(sample.cpuSeconds)
        self.resident.set(sample.residentMemoryBytes)
        self.virtual.set(sample.virtualMemoryBytes)
        self.openFDs.set(sample.openFileDescriptors)
        self.maxFDs.set(sample.maxFileDescriptors)
        self.startTime.set(sample.startTimeSeconds)
    }

    /// Reads the statistics of the current process from `/proc/self/stat`, `/proc/stat` and `/proc/self/fd`.
    public static func read() throws(TelemetryError) -> Sample {
        let stat = try Self.readFile("/proc/self/stat")
        // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else {
            throw TelemetryError(.processMetricsUnavailable, "unexpected /proc/self/stat format")
        }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " ")).map {
            String(decoding: $0, as: UTF8.self)
        }
        // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
        func field(_ number: Int) -> Double {
            let index = number - 3
            return index < fields.count ? Double(fields[index].trimmingNewline()) ?? 0 : 0
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let bootTime = try Self.bootTime()
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Sample(
            cpuSeconds: (field(14) + field(15)) / ticks,
            residentMemoryBytes: field(24) * pageSize,
            virtualMemoryBytes: field(23),
            openFileDescriptors: Double(try Self.countOpenDescriptors()),
            maxFileDescriptors: limit.rlim_cur == rlim_t.max ? .infinity : Double(limit.rlim_cur),
            startTimeSeconds: bootTime + field(22) / ticks
        )
    }

    private static func bootTime() throws(TelemetryError) -> Double {
        let stat = String(decoding: try Self.readFile("/proc/stat"), as: UTF8.self)
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            if let value = Double(line.dropFirst(6)) { return value }
        }
        throw TelemetryError(.processMetricsUnavailable, "no btime in /proc/stat")
    }

    private static func countOpenDescriptors() throws(TelemetryError) -> Int {
        guard let directory = opendir("/proc/self/fd") else {
            throw TelemetryError(.processMetricsUnavailable, "cannot open /proc/self/fd", cause: "errno \(errno)")
        }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            // Only the name's first byte: a `dirent` is variable-length, so copying the whole `d_name`
            // field reads past the last entry of the stream's buffer.
            let name = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let isDot = name.load(as: UInt8.self) == UInt8(ascii: ".")
            if !isDot { count += 1 }
        }
        // The directory stream itself holds one descriptor while we count.
        return max(count - 1, 0)
    }

    private static func readFile(_ path: String) throws(TelemetryError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw TelemetryError(.processMetricsUnavailable, "cannot open \(path)", cause: "errno \(errno)")
        }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }
}

extension String {
    fileprivate func trimmingNewline() -> String {
        self.hasSuffix("\n") ? String(self.dropLast()) : self
    }
}
