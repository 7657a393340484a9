import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

/// The exporter thread's loop: drains the rings into a bounded queue, sends batches, retries with backoff.
///
/// Thread-confined: created by ``SpanExporter/start()`` and then used only by the exporter thread (handed
/// over once through `pthread_create`), hence `@unchecked Sendable`.
final class SpanExportPipeline: @unchecked Sendable {
    // Replaced together by a reconfiguration (``handOver(to:)``), on this thread only.
    private(set) var configuration: SpanExporterConfiguration
    let control: SpanExportControl
    private(set) var encoder: OTLPSpanEncoder
    private(set) var client: OTLPHTTPClient
    private var queue: [SpanRecord] = []
    /// When the oldest span waiting in `queue` got there; it is sent at the latest a flush interval later.
    private var oldestQueuedAt = ContinuousClock.now
    /// Set once stopping: every wait and every try ends by then.
    private var shutdownDeadline: ContinuousClock.Instant?
    /// Set while the spans queued before a reconfiguration leave by the old endpoint: they get no longer.
    private var handOverDeadline: ContinuousClock.Instant?

    /// The earlier of the shutdown and hand-over deadlines: waits and tries end by then.
    private var deadline: ContinuousClock.Instant? {
        switch (self.shutdownDeadline, self.handOverDeadline) {
        case (let stop?, let handOver?): return min(stop, handOver)
        case (let stop?, nil): return stop
        case (nil, let handOver): return handOver
        }
    }

    init(configuration: SpanExporterConfiguration, control: SpanExportControl, encoder: OTLPSpanEncoder) {
        self.configuration = configuration
        self.control = control
        self.encoder = encoder
        self.client = OTLPHTTPClient(endpoint: configuration.endpoint, slice: configuration.pollInterval)
        self.queue.reserveCapacity(configuration.maxQueueSize)
    }

    /// Runs until a stop is requested, then sends what is left within the shutdown timeout.
    func run() {
        while true {
            self.checkStop()
            if self.shutdownDeadline == nil, let next = self.control.takePending() {
                self.handOver(to: next)
            }
            self.drainRings()
            if self.shutdownDeadline != nil {
                self.flushAll()
                self.client.close()
                return
            }
            let due = ContinuousClock.now - self.oldestQueuedAt >= self.configuration.flushInterval
            if self.queue.count >= self.configuration.batchSize || (!self.queue.isEmpty && due) {
                self.exportBatch()
            } else {
                Self.sleep(self.configuration.pollInterval)
            }
        }
    }

    private func checkStop() {
        if self.shutdownDeadline == nil && self.control.stopRequested.load(ordering: .acquiring) {
            self.shutdownDeadline = .now + self.configuration.shutdownTimeout
        }
    }

    /// Moves every waiting span from the rings into the queue; what does not fit is counted as `queue_full`.
    func drainRings() {
        // A reconfiguration waits: spans still in the rings belong to the new endpoint.
        if self.control.reconfiguring.load(ordering: .acquiring) && self.shutdownDeadline == nil { return }
        var overflow = 0
        for ring in self.control.rings {
            ring.drain { record in
                if self.queue.count < self.configuration.maxQueueSize {
                    if self.queue.isEmpty { self.oldestQueuedAt = .now }
                    self.queue.append(record.pointee)
                } else {
                    overflow += 1
                }
            }
        }
        if overflow > 0 { self.control.queueFull.add(UInt64(overflow), ordering: .relaxed) }
        self.control.queued.store(self.queue.count, ordering: .relaxed)
    }

    /// Sends everything queued, batch by batch, until the queue is empty or the shutdown deadline passes;
    /// what could not be sent in time counts as `export_failed`.
    private func flushAll() {
        while !self.queue.isEmpty {
            if let deadline = self.shutdownDeadline, ContinuousClock.now >= deadline {
                self.control.exportFailed.add(UInt64(self.queue.count), ordering: .relaxed)
                self.queue.removeAll(keepingCapacity: true)
                break
            }
            self.exportBatch()
            self.drainRings()
        }
        self.control.queued.store(0, ordering: .relaxed)
    }

    /// A reconfiguration: the spans already taken off the rings go to the old endpoint (within its
    /// `shutdownTimeout`; what is left then counts as `export_failed`), then the new configuration,
    /// encoder and connection take over and the rings are read again, for the new endpoint.
    private func handOver(to next: SpanExportSettings) {
        var owed = self.queue.count
        self.handOverDeadline = .now + self.configuration.shutdownTimeout
        while owed > 0 {
            self.checkStop()
            if let deadline = self.deadline, ContinuousClock.now >= deadline {
                self.control.exportFailed.add(UInt64(owed), ordering: .relaxed)
                self.queue.removeFirst(owed)
                break
            }
            owed -= self.exportBatch(limit: owed)
        }
        self.handOverDeadline = nil
        self.client.close()
        self.configuration = next.configuration
        self.encoder = next.encoder
        self.client = OTLPHTTPClient(endpoint: next.configuration.endpoint, slice: next.configuration.pollInterval)
        self.oldestQueuedAt = .now
        self.control.queued.store(self.queue.count, ordering: .relaxed)
        self.control.finishReconfiguration()
    }

    /// Takes one batch (of at most `limit` spans) off the queue and sends it, retrying as configured;
    /// returns how many spans it took.
    @discardableResult
    private func exportBatch(limit: Int = .max) -> Int {
        let count = min(self.queue.count, self.configuration.batchSize, limit)
        let body: [UInt8]
        do {
            body = try self.encoder.request(self.queue[0..<count]).serializedBytes()
        } catch {
            // Encoding a well-formed message does not fail; count the spans should it ever happen.
            self.control.exportFailed.add(UInt64(count), ordering: .relaxed)
            self.queue.removeFirst(count)
            return count
        }
        self.queue.removeFirst(count)
        self.oldestQueuedAt = .now
        self.control.queued.store(self.queue.count, ordering: .relaxed)
        self.send(body, spans: count)
        return count
    }

    private func send(_ body: [UInt8], spans: Int) {
        var backoff = self.configuration.initialBackoff
        for attempt in 1...self.configuration.maxAttempts {
            self.checkStop()
            var deadline = ContinuousClock.now + self.configuration.timeout
            if let stop = self.deadline { deadline = min(deadline, stop) }
            var retryAfter: Duration?
            do {
                let response = try self.client.post(
                    body,
                    contentType: "application/x-protobuf",
                    deadline: deadline,
                    idle: {
                        self.checkStop()
                        self.drainRings()
                        // Shutdown's (or a hand-over's) deadline also ends a request begun before it.
                        return self.deadline.map { ContinuousClock.now < $0 } ?? true
                    }
                )
                switch response.status {
                case 200...299:
                    let protobuf = response.contentType.hasPrefix("application/x-protobuf")
                    let rejected = protobuf ? Self.rejectedSpans(in: response.body, of: spans) : 0
                    self.control.exported.add(UInt64(spans - rejected), ordering: .relaxed)
                    if rejected > 0 { self.control.exportFailed.add(UInt64(rejected), ordering: .relaxed) }
                    return
                case 429, 500...599:
                    self.record(SpanExporterError(.connection, "the receiver answered \(response.status)"))
                    retryAfter = response.retryAfter.map { .seconds($0) }
                default:
                    // Not retryable (400 bad data, 404 wrong path, 413 too large, ...): retrying cannot help.
                    self.record(SpanExporterError(.connection, "the receiver refused the spans: \(response.status)"))
                    self.control.exportFailed.add(UInt64(spans), ordering: .relaxed)
                    return
                }
            } catch {
                self.record(error)
            }
            if attempt == self.configuration.maxAttempts { break }
            let jittered = backoff * Double.random(in: 0.8...1.2)
            let wait = min(retryAfter ?? jittered, self.configuration.maxBackoff)
            guard self.pause(wait) else { break }
            backoff = min(backoff * 2, self.configuration.maxBackoff)
        }
        self.control.exportFailed.add(UInt64(spans), ordering: .relaxed)
    }

    /// Waits `duration` while still draining the rings; false when the shutdown deadline ends it early.
    private func pause(_ duration: Duration) -> Bool {
        let until = ContinuousClock.now + duration
        while ContinuousClock.now < until {
            self.checkStop()
            if let stop = self.deadline, stop <= until { return false }
            self.drainRings()
            Self.sleep(min(self.configuration.pollInterval, until - ContinuousClock.now))
        }
        return true
    }

    private func record(_ error: SpanExporterError) {
        self.control.lastError.withLock { $0 = error }
    }

    /// `partial_success.rejected_spans` of an OTLP response body (0 when absent or not decodable).
    private static func rejectedSpans(in body: [UInt8], of spans: Int) -> Int {
        guard !body.isEmpty,
            let response = try? Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse(serializedBytes: body)
        else { return 0 }
        return Int(clamping: max(0, min(Int64(spans), response.partialSuccess.rejectedSpans)))
    }

    private static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}
