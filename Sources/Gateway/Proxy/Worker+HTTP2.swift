import CNghttp2
import Glibc

/// HTTP/2 connections: the connection's bytes feed an nghttp2 session (over TLS after ALPN `h2`, or in
/// clear text with prior knowledge), and frames nghttp2 produces go out through the connection's
/// ordinary send path. Each stream runs on a client slot of its own (Worker+HTTP2Streams.swift).
extension Worker {
    /// The client connection preface (RFC 9113 §3.4), which starts every h2c connection with prior knowledge.
    static var http2Preface: StaticString { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" }

    /// Whether `input` is, or may still become, the HTTP/2 preface.
    @inline(__always)
    func startsWithHTTP2Preface(_ input: UnsafeRawBufferPointer) -> (matches: Bool, complete: Bool) {
        let preface = Self.http2Preface
        let count = min(input.count, preface.utf8CodeUnitCount)
        for index in 0..<count where input[index] != preface.utf8Start[index] { return (false, false) }
        return (true, count == preface.utf8CodeUnitCount)
    }

    // MARK: - Start

    /// Turns client `slot` into an HTTP/2 connection. Its input, if any, is fed to the session next.
    func startHTTP2(_ slot: Int) {
        if http2Box == nil { http2Box = HTTP2HandlerBox(self) }
        let connection = http2Connections + slot
        connection.pointee = HTTP2Connection()
        connection.pointee.slot = Int32(slot)
        connection.pointee.handler = Unmanaged.passUnretained(http2Box!)
        let settings = plan.config.http2
        guard let session = HTTP2Session.makeServer(connection: connection, settings: settings) else {
            closeClient(slot)
            return
        }
        connection.pointee.session = session
        clients[slot].state = .http2
        clients[slot].closeAfter = false
        telemetry.recordHTTP2Connection(opened: true)
        let headerList = Int32(clamping: settings.maxHeaderListSize ?? plan.httpLimits.maxHeaderBytes)
        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: UInt32(settings.maxConcurrentStreams)
            ),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(http2StreamWindow)
            ),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: UInt32(headerList)
            ),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
        ]
        guard nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count) == 0
        else {
            closeClient(slot)
            return
        }
        // The connection window covers every stream's buffered body bytes together.
        _ = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 1 << 20)
        setDeadline(client: slot, .keepAlive, after: plan.keepaliveTimeout)
        if clients[slot].inputSource != .none {
            http2ProcessInput(slot)
        } else {
            http2Flush(slot)
            postClientReceive(slot)
        }
    }

    /// Body bytes a stream may have in flight: what one block holds besides the chunk framing.
    var http2StreamWindow: Int {
        min(65535, blocks.blockSize - Int(HTTP2StreamState.bodyReserve + HTTP2StreamState.bodyTrailerReserve))
    }

    // MARK: - Input

    /// Feeds the connection's input to its session, then sends what the session has to say.
    func http2ProcessInput(_ slot: Int) {
        guard let session = http2Connections[slot].session else { return }
        let input = clientInput(slot)
        if input.count > 0 {
            let fed = nghttp2_session_mem_recv(
                session,
                input.baseAddress!.assumingMemoryBound(to: UInt8.self),
                input.count
            )
            consumeClientInput(slot, input.count)
            guard clients[slot].state == .http2 else { return }
            if fed < 0 {
                http2SessionFailed(slot, error: Int32(fed))
                return
            }
        }
        runHTTP2Ready()
        guard clients[slot].state == .http2 else { return }
        http2Flush(slot)
        guard clients[slot].state == .http2 else { return }
        if nghttp2_session_want_read(session) != 0 { postClientReceive(slot) }
    }

    /// nghttp2 gave up on the session (a flood it counts itself, or a broken peer): GOAWAY if it can
    /// still be sent, then close.
    func http2SessionFailed(_ slot: Int, error: Int32) {
        let connection = http2Connections + slot
        if error == NGHTTP2_ERR_FLOODED.rawValue || error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue {
            connection.pointee.goawayReason = .flood
            http2Terminate(slot, code: NGHTTP2_ENHANCE_YOUR_CALM)
        } else {
            connection.pointee.goawayReason = .protocolError
            http2Terminate(slot, code: NGHTTP2_PROTOCOL_ERROR)
        }
    }

    /// Sends GOAWAY with `code` and closes once it is out.
    func http2Terminate(_ slot: Int, code: nghttp2_error_code) {
        let connection = http2Connections + slot
        connection.pointee.closeWhenFlushed = true
        if let session = connection.pointee.session,
            nghttp2_session_terminate_session(session, code.rawValue) == 0
        {
            http2Flush(slot)
        } else {
            closeClient(slot)
        }
    }

    // MARK: - Output

    /// Sends the frames nghttp2 has ready, one block at a time, unless a send is already posted.
    func http2Flush(_ slot: Int) {
        let connection = http2Connections + slot
        guard let session = connection.pointee.session, !clients[slot].sending,
            clients[slot].outputSource == .none
        else { return }
        if connection.pointee.spillBlock >= 0 {
            let spill = connection.pointee.spillBlock
            connection.pointee.spillBlock = -1
            sendToClient(slot, .block, spill, length: Int(connection.pointee.spillLength))
            return
        }
        let block = blocks.take()
        guard block >= 0 else {
            closeClient(slot)
            return
        }
        let base = blocks.pointer(block)
        let capacity = blocks.blockSize
        var length = 0
        // Leave the loop while a whole DATA frame still fits, so a frame rarely spills into a second block.
        while capacity - length >= 16_393 {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 {
                blocks.release(block)
                closeClient(slot)
                return
            }
            guard count > 0, let data else { break }
            let fits = min(count, capacity - length)
            (base + length).copyMemory(from: data, byteCount: fits)
            length += fits
            if fits < count {
                let rest = count - fits
                let spill = blocks.take()
                guard spill >= 0, rest <= blocks.blockSize else {
                    if spill >= 0 { blocks.release(spill) }
                    blocks.release(block)
                    closeClient(slot)
                    return
                }
                blocks.pointer(spill).copyMemory(from: data + fits, byteCount: rest)
                connection.pointee.spillBlock = spill
                connection.pointee.spillLength = Int32(rest)
                break
            }
        }
        // Callbacks run during mem_send may have closed the connection.
        guard clients[slot].state == .http2 else {
            blocks.release(block)
            return
        }
        if length > 0 {
            sendToClient(slot, .block, block, length: length)
            return
        }
        blocks.release(block)
        if connection.pointee.closeWhenFlushed
            || (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0)
        {
            http2Linger(slot)
        }
    }

    /// The last frames (a GOAWAY) are out: the session goes, and the connection lingers as an HTTP/1.1
    /// one does, so frames the client still sends are read and dropped instead of turning the close into
    /// a reset that could destroy the GOAWAY before the client reads it.
    func http2Linger(_ slot: Int) {
        closeHTTP2(slot)
        lingerAndClose(slot)
    }

    /// Frames went out: hand back the stream bytes nghttp2 took, then send what is next.
    func http2OutputSent(_ slot: Int) {
        runHTTP2Ready()
        guard clients[slot].state == .http2 else { return }
        http2Flush(slot)
        // Each send arms the send timeout over the idle deadline and its completion clears it: with
        // nothing left to send and no stream open, the idle timer runs again.
        if clients[slot].state == .http2, !clients[slot].sending, clients[slot].deadline == .none,
            http2Connections[slot].openStreams == 0, !http2Connections[slot].goaway
        {
            setDeadline(client: slot, .keepAlive, after: plan.keepaliveTimeout)
        }
    }

    /// Queues connection `slot` for a flush at the end of this loop turn.
    @inline(__always)
    func queueHTTP2Flush(_ slot: Int) {
        guard !http2Connections[slot].flushQueued else { return }
        http2Connections[slot].flushQueued = true
        http2Ready.append(UInt64(slot) | UInt64(clients[slot].generation) << 32 | Self.http2FlushFlag)
    }

    static var http2FlushFlag: UInt64 { 1 << 63 }
    static var http2CompleteFlag: UInt64 { 1 << 62 }
    static var http2DeliverFlag: UInt64 { 1 << 61 }

    /// Runs what stream events queued during nghttp2's callbacks: input deliveries, send completions and
    /// connection flushes (never from inside a callback, where the worker's machines must not run).
    func runHTTP2Ready() {
        var rounds = 0
        while !http2Ready.isEmpty && rounds < 64 {
            rounds += 1
            let ready = http2Ready
            http2Ready.removeAll(keepingCapacity: true)
            for packed in ready {
                if packed & Self.http2UpstreamFlag != 0 {
                    runUpstreamH2Event(packed)
                    continue
                }
                let slot = Int(packed & 0xFFFF_FFFF)
                let generation = UInt32(truncatingIfNeeded: (packed >> 32) & 0xFF_FFFF)
                guard clients[slot].generation == generation else { continue }
                if packed & Self.http2FlushFlag != 0 {
                    http2Connections[slot].flushQueued = false
                    if clients[slot].state == .http2 { http2Flush(slot) }
                } else if packed & Self.http2CompleteFlag != 0 {
                    http2Streams[slot].completionQueued = false
                    http2CompleteSend(slot)
                } else {
                    http2Streams[slot].deliveryQueued = false
                    http2DeliverInput(slot)
                }
            }
        }
    }

    // MARK: - Idle, drain and close

    /// No stream for `limits.keepalive_timeout`: GOAWAY, then close.
    func http2IdleExpired(_ slot: Int) {
        http2Connections[slot].goawayReason = .idle
        http2Terminate(slot, code: NGHTTP2_NO_ERROR)
    }

    /// Shutdown: GOAWAY now (streams in flight finish; no new ones), close once the last stream ends.
    func http2BeginDrain(_ slot: Int) {
        let connection = http2Connections + slot
        guard let session = connection.pointee.session, !connection.pointee.goaway else { return }
        connection.pointee.goawayReason = .drain
        connection.pointee.goaway = true
        _ = nghttp2_submit_goaway(
            session,
            UInt8(NGHTTP2_FLAG_NONE.rawValue),
            nghttp2_session_get_last_proc_stream_id(session),
            NGHTTP2_NO_ERROR.rawValue,
            nil,
            0
        )
        if connection.pointee.openStreams == 0 { connection.pointee.closeWhenFlushed = true }
        http2Flush(slot)
    }

    /// The connection closes: its streams' slots close with it, then the session goes.
    func closeHTTP2(_ slot: Int) {
        let connection = http2Connections + slot
        guard let session = connection.pointee.session else { return }
        for stream in 0..<clientSlots.highWater
        where http2Streams[stream].live && http2Streams[stream].connection == Int32(slot) {
            http2Streams[stream].connectionGone = true
            closeClient(stream)
            releaseHTTP2Stream(stream)
        }
        connection.pointee.session = nil
        nghttp2_session_del(session)
        if connection.pointee.spillBlock >= 0 {
            blocks.release(connection.pointee.spillBlock)
            connection.pointee.spillBlock = -1
        }
        telemetry.recordHTTP2Connection(opened: false)
    }
}
