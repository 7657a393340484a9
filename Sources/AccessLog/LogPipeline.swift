/// The logging thread's work: drain rings, format, compress, write, rotate, reopen.
///
/// Thread-confined: created on the caller's thread, then used only by the logging thread (handed over
/// once through `pthread_create`), hence `@unchecked Sendable`.
final class LogPipeline: @unchecked Sendable {
    private static let drainBatch = 4096

    private let configuration: AccessLogConfiguration
    // Behind plain pointers rather than class properties: the per-record path then pays no dynamic
    // exclusivity checks. `buffer` holds the lines of the frame being built.
    private let formatter: UnsafeMutablePointer<LineFormatter>
    private let buffer: UnsafeMutablePointer<LineBuffer>
    private let encoder: FrameEncoder
    private let sink: LogSink
    // Set while running; breaks the logger <-> pipeline cycle when the thread ends.
    var logger: AccessLogger?

    private var rings: [AccessLogRing] = []
    private var symbols: [UnsafeRawBufferPointer] = []
    private var seenReopens = 0
    private var seenRotations = 0
    private var seenSignals = 0
    /// When the oldest line of the current frame was formatted (monotonic ns).
    private var frameStartedAt: Int64?
    private var pendingRecords: UInt64 = 0

    init(configuration: AccessLogConfiguration) throws(AccessLogError) {
        self.configuration = configuration
        // The parts that can fail come first: a throwing init never runs deinit, so pointers allocated
        // before a throw would leak (a bad log path is an ordinary configuration error).
        self.encoder = try FrameEncoder(
            compression: configuration.compression,
            expectedFrameSize: configuration.frameSize
        )
        self.sink = try LogSink(configuration: configuration)
        self.formatter = .allocate(capacity: 1)
        self.formatter.initialize(to: LineFormatter(format: configuration.format, fields: configuration.fields))
        self.buffer = .allocate(capacity: 1)
        // A frame closes once it reaches frameSize, so one more line always fits.
        self.buffer.initialize(to: LineBuffer(capacity: configuration.frameSize + LineFormatter.maximumLineLength))
    }

    deinit {
        self.formatter.deinitialize(count: 1)
        self.formatter.deallocate()
        self.buffer.deinitialize(count: 1)
        self.buffer.deallocate()
    }

    /// The thread body; returns after a requested stop once every ring is empty and the frame is closed.
    func run(stopImmediately: Bool = false) {
        guard let logger else { return }
        let flushInterval = Int64(self.configuration.flushInterval * 1e9)
        let frameSize = self.configuration.frameSize
        var idleTurns = 0
        while true {
            let stopping = stopImmediately || logger.stopRequested.load(ordering: .acquiring)
            self.refresh(logger)
            var drained = 0
            var symbols = self.symbols
            let formatter = self.formatter
            let buffer = self.buffer
            for ring in self.rings {
                var count = 0
                drained += ring.drain(limit: Self.drainBatch) { record in
                    // A symbol registered after this turn's refresh: it was registered before the
                    // record was pushed, so the table has it now (the ring's acquire orders the two).
                    if record.pointee.highestSymbolIndex >= symbols.count && logger.symbols.count > symbols.count {
                        self.symbols = logger.symbols.snapshot()
                        symbols = self.symbols
                    }
                    formatter.pointee.append(record, symbols: symbols, to: &buffer.pointee)
                    count &+= 1
                    if buffer.pointee.count >= frameSize {
                        self.pendingRecords &+= UInt64(count)
                        count = 0
                        self.closeFrame()
                    }
                }
                self.pendingRecords &+= UInt64(count)
            }
            let now = monotonicNanoseconds()
            if self.pendingRecords > 0 && self.frameStartedAt == nil { self.frameStartedAt = now }
            if let started = self.frameStartedAt, now - started >= flushInterval {
                self.closeFrame()
            }
            self.handleRequests(logger, now: now)
            logger.counters.threadCPUNanoseconds.store(UInt64(threadCPUNanoseconds()), ordering: .relaxed)
            if stopping && drained == 0 {
                self.closeFrame()
                break
            }
            if drained == 0 {
                idleTurns += 1
                sleepSeconds(self.idleSleep(turns: idleTurns, now: now, flushInterval: flushInterval))
            } else {
                idleTurns = 0
            }
        }
        self.logger = nil
    }

    /// The sleep after `turns` empty turns in a row: doubling from the configured idle sleep up to
    /// ``AccessLogConfiguration/maximumIdleSleep``, cut short by a pending frame's flush deadline.
    private func idleSleep(turns: Int, now: Int64, flushInterval: Int64) -> Double {
        let base = self.configuration.idleSleep
        var delay = min(base * Double(1 << min(turns - 1, 10)), max(base, AccessLogConfiguration.maximumIdleSleep))
        if let started = self.frameStartedAt {
            let untilFlush = Double(started + flushInterval - now) / 1e9
            delay = min(delay, max(base, untilFlush))
        }
        return delay
    }

    private func refresh(_ logger: AccessLogger) {
        if logger.ringCount.load(ordering: .acquiring) != self.rings.count { self.rings = logger.currentRings() }
        if logger.symbols.count != self.symbols.count { self.symbols = logger.symbols.snapshot() }
    }

    private func handleRequests(_ logger: AccessLogger, now: Int64) {
        let reopens = logger.reopenRequests.load(ordering: .acquiring)
        let signals =
            logger.followsReopenSignal.load(ordering: .relaxed) ? reopenSignalCount.load(ordering: .acquiring) : 0
        if reopens != self.seenReopens || signals != self.seenSignals {
            self.seenReopens = reopens
            self.seenSignals = signals
            self.closeFrame()
            do {
                try self.sink.reopen()
                logger.counters.reopens.bump()
            } catch {
                logger.counters.writeErrors.bump()
            }
        }
        let rotations = logger.rotateRequests.load(ordering: .acquiring)
        let requested = rotations != self.seenRotations
        self.seenRotations = rotations
        let due = self.sink.rotationDue(
            maxFileSize: self.configuration.maxFileSize,
            maxAge: self.configuration.maxAge,
            now: now
        )
        if requested || due {
            // Whatever was formatted goes into the old file, so each file ends with a complete frame.
            self.closeFrame()
            guard self.sink.hasData || requested else { return }
            do {
                try self.sink.rotate()
                logger.counters.rotations.bump()
            } catch {
                logger.counters.writeErrors.bump()
            }
        }
    }

    /// Ends the current frame and writes it in one piece.
    private func closeFrame() {
        guard let counters = self.logger?.counters else { return }
        defer {
            self.buffer.pointee.count = 0
            self.frameStartedAt = nil
            self.pendingRecords = 0
        }
        let lines = self.buffer.pointee.bytes
        guard lines.count > 0 else { return }
        counters.bytesUncompressed.bump(by: UInt64(lines.count))
        do {
            let frame = try self.encoder.encode(lines)
            try self.sink.write(frame)
            counters.bytesWritten.bump(by: UInt64(frame.count))
            counters.frames.bump()
            counters.recordsWritten.bump(by: self.pendingRecords)
        } catch {
            counters.writeErrors.bump()
        }
    }
}
