import AccessLog
import Telemetry

/// Exposes the access logger's own counters as metrics, read on the scraping thread.
enum AccessLogStatsCollector {
    static func install(logger: AccessLogger, registry: MetricRegistry) throws {
        let records = try registry.counter(
            "gateway_access_log_records_total",
            help: "Access log records written to the log."
        ).handle()
        let dropped = try registry.counter(
            "gateway_access_log_dropped_total",
            help: "Access log records dropped because a worker's ring was full."
        ).handle()
        let sampledOut = try registry.counter(
            "gateway_access_log_sampled_out_total",
            help: "Access-log lines skipped by access_log.sampling; separate from drops."
        ).handle()
        let bytes = try registry.counter(
            "gateway_access_log_bytes_total",
            help: "Access log bytes, before (stage=formatted) and after (stage=written) compression.",
            labelNames: ["stage"]
        )
        let formatted = try bytes.handle(["formatted"])
        let written = try bytes.handle(["written"])
        let frames = try registry.counter("gateway_access_log_frames_total", help: "zstd frames closed.").handle()
        let rotations = try registry.counter("gateway_access_log_rotations_total", help: "Log file rotations.")
            .handle()
        let errors = try registry.counter(
            "gateway_access_log_write_errors_total",
            help: "Failed writes to the access log file."
        ).handle()
        let threadCPU = try registry.counter(
            "gateway_access_log_thread_cpu_seconds_total",
            help: "CPU time used by the access-log thread; its rate is the share of one core the log needs."
        ).handle()
        let highWater = try registry.gauge(
            "gateway_access_log_ring_high_water",
            help: "Most records found waiting in one worker's ring at once."
        ).handle()
        registry.addCollector {
            let stats = logger.stats()
            records.setSharedTotal(Double(stats.recordsWritten))
            dropped.setSharedTotal(Double(stats.recordsDropped))
            sampledOut.setSharedTotal(Double(stats.sampledOut))
            formatted.setSharedTotal(Double(stats.bytesUncompressed))
            written.setSharedTotal(Double(stats.bytesWritten))
            frames.setSharedTotal(Double(stats.frames))
            rotations.setSharedTotal(Double(stats.rotations))
            errors.setSharedTotal(Double(stats.writeErrors))
            threadCPU.setSharedTotal(stats.threadCPUSeconds)
            highWater.set(Double(stats.ringHighWaterMark))
        }
    }
}
