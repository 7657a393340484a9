import CNghttp2
import CSSL
import Glibc

/// HTTP/2 sessions of `grpc` and `grpcs` upstreams: per node, sockets with an nghttp2 client session that
/// multiplex stream slots (Worker+UpstreamHTTP2.swift translates each stream's exchange), and their
/// frames on the wire (plain, or TLS records for `grpcs`).
extension Worker {
    // MARK: - Sessions and streams

    /// A stream slot for an exchange with `node`: on the node's session while it takes more streams,
    /// else on a new one (connected here). Nil if no slot or socket is available.
    func openHTTP2Stream(upstream: Int, node: Int) -> Int? {
        var session = Int(http2NodeSessions[node])
        if session < 0 || !http2SessionTakesStreams(session, node: node) {
            guard let fresh = openUpstream(upstream: upstream, node: node, http2Session: true) else { return nil }
            session = fresh
            http2NodeSessions[node] = Int32(session)
        }
        guard let (slot, fresh) = upstreamSlots.allocate() else { return nil }
        if fresh {
            upstreamConnections.advanced(by: slot).initialize(to: UpstreamConnection())
            upstreamConnections[slot].generation = 1
        } else {
            let generation = (upstreamConnections[slot].generation &+ 1) & 0xFF_FFFF
            upstreamConnections[slot] = UpstreamConnection()
            upstreamConnections[slot].generation = generation
        }
        upstreamConnections[slot].upstream = Int32(upstream)
        upstreamConnections[slot].node = Int32(node)
        upstreamConnections[slot].state = .connecting
        let state = upstreamH2 + slot
        state.pointee = HTTP2UpstreamState()
        state.pointee.isStream = true
        state.pointee.session = Int32(session)
        state.pointee.sessionGeneration = upstreamConnections[session].generation
        upstreamH2[session].openStreams += 1
        if upstreamH2[session].active {
            // The session is up (its timer was the idle one): the stream can go at once. A connecting
            // session keeps its connect deadline, which fails the streams waiting on it.
            clearDeadline(upstream: session)
            upstreamConnections[slot].state = .exchanging
            upstreamConnections[slot].reused = false
            telemetry.recordUpstreamConnection(node: node, event: .reused)
        }
        return slot
    }

    /// Whether session slot `session` (the current one of `node`) takes another stream.
    private func http2SessionTakesStreams(_ session: Int, node: Int) -> Bool {
        guard upstreamConnections[session].state != .closed, Int(upstreamConnections[session].node) == node,
            !upstreamH2[session].retired
        else { return false }
        guard let nghttp2 = upstreamH2[session].context.session else {
            // Still connecting: streams wait for it.
            return upstreamConnections[session].state == .connecting
        }
        let limit = nghttp2_session_get_remote_settings(nghttp2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
        return UInt32(upstreamH2[session].openStreams) < limit && nghttp2_session_check_request_allowed(nghttp2) != 0
    }

    /// The session of stream slot `slot`, if it is still the one the stream opened on.
    @inline(__always)
    func http2SessionOf(_ slot: Int) -> Int? {
        let session = Int(upstreamH2[slot].session)
        guard session >= 0, upstreamConnections[session].generation == upstreamH2[slot].sessionGeneration,
            upstreamConnections[session].state != .closed, upstreamH2[session].active
        else { return nil }
        return session
    }

    /// The stream slot of `stream` on session `session`.
    @inline(__always)
    func http2UpstreamStreamSlot(_ session: Int, _ stream: Int32) -> Int? {
        guard let nghttp2 = upstreamH2[session].context.session,
            let data = nghttp2_session_get_stream_user_data(nghttp2, stream)
        else { return nil }
        return Int(bitPattern: data) - 1
    }

    /// The session slot connected (TCP, and TLS for `grpcs`): HTTP/2 takes over the socket and the
    /// streams waiting for it go. False if it could not (the connect then fails as any other would).
    func startUpstreamHTTP2(_ slot: Int) -> Bool {
        if http2Box == nil { http2Box = HTTP2HandlerBox(self) }
        let state = upstreamH2 + slot
        let streams = state.pointee.openStreams
        state.pointee = HTTP2UpstreamState()
        state.pointee.sessionSlot = true
        state.pointee.openStreams = streams
        state.pointee.context.slot = Int32(slot)
        state.pointee.context.upstream = true
        state.pointee.context.handler = Unmanaged.passUnretained(http2Box!)
        if upstreamTLS[slot].phase != .none && !upstreamTLS[slot].negotiatedHTTP2 { return false }
        let context = UnsafeMutablePointer(mutating: upstreamH2Context(slot))
        guard let session = HTTP2Session.makeClient(connection: context) else { return false }
        state.pointee.context.session = session
        state.pointee.active = true
        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(http2StreamWindow)
            ),
        ]
        guard nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count) == 0
        else { return false }
        _ = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 1 << 20)
        postUpstreamWireReceive(slot)
        // The streams that waited for the connect go now, as connected connections would.
        for stream in 0..<upstreamSlots.highWater
        where upstreamH2[stream].isStream && upstreamH2[stream].session == Int32(slot)
            && upstreamH2[stream].sessionGeneration == upstreamConnections[slot].generation
            && upstreamConnections[stream].state == .connecting
        {
            perform(upstreamConnections[stream].connectCompleted(result: 0), upstream: stream)
        }
        if state.pointee.openStreams == 0 { http2SessionIdle(slot) }
        queueUpstreamH2Flush(slot)
        return true
    }

    /// A session without streams waits `keepalive_pool.idle_timeout` for the next one, then closes.
    func http2SessionIdle(_ slot: Int) {
        let timeout = plan.upstreams[Int(upstreamConnections[slot].upstream)].poolIdleTimeout
        setDeadline(upstream: slot, .poolIdle, after: timeout)
    }

    /// A stream slot's exchange is over (completed or abandoned; ``closeUpstream(_:)`` frees the slot): its
    /// stream is reset if still open and leaves the session, which keeps serving others.
    func detachHTTP2Stream(_ slot: Int) {
        let state = upstreamH2 + slot
        if let session = http2SessionOf(slot), let nghttp2 = upstreamH2[session].context.session {
            if state.pointee.streamID > 0 {
                _ = nghttp2_session_set_stream_user_data(nghttp2, state.pointee.streamID, nil)
                if !(state.pointee.requestEnded && state.pointee.endDelivered) {
                    _ = nghttp2_submit_rst_stream(
                        nghttp2,
                        UInt8(NGHTTP2_FLAG_NONE.rawValue),
                        state.pointee.streamID,
                        NGHTTP2_CANCEL.rawValue
                    )
                    queueUpstreamH2Flush(session)
                }
            }
            upstreamH2[session].openStreams -= 1
            if upstreamH2[session].openStreams == 0 {
                if upstreamH2[session].retired { queueUpstreamH2Close(session) } else { http2SessionIdle(session) }
            }
        } else if state.pointee.session >= 0 {
            let session = Int(state.pointee.session)
            if upstreamConnections[session].generation == state.pointee.sessionGeneration
                && upstreamConnections[session].state == .connecting
            {
                upstreamH2[session].openStreams -= 1
            }
        }
        for block in [state.pointee.headBlock, state.pointee.fillBlock, state.pointee.trailerBlock] where block >= 0 {
            blocks.release(block)
        }
        state.pointee = HTTP2UpstreamState()
    }

    /// A session failed or closed: its streams fail as their connections would have (each may retry).
    func failHTTP2Session(_ slot: Int, _ failure: UpstreamFailure) {
        guard upstreamConnections[slot].state != .closed else { return }
        upstreamH2[slot].retired = true
        if http2NodeSessions[Int(upstreamConnections[slot].node)] == Int32(slot) {
            http2NodeSessions[Int(upstreamConnections[slot].node)] = -1
        }
        let generation = upstreamConnections[slot].generation
        for stream in 0..<upstreamSlots.highWater
        where upstreamH2[stream].isStream && upstreamH2[stream].session == Int32(slot)
            && upstreamH2[stream].sessionGeneration == generation && upstreamConnections[stream].state != .closed
        {
            let started = upstreamConnections[stream].responseStarted
            perform(.fail(failure, mayRetry: !started), upstream: stream)
        }
        closeUpstream(slot)
    }

    static var http2CloseFlag: UInt64 { 1 << 58 }

    @inline(__always)
    func queueUpstreamH2Close(_ slot: Int) {
        queueUpstreamH2(slot, Self.http2CloseFlag)
    }

    @inline(__always)
    func upstreamH2Context(_ slot: Int) -> UnsafeMutablePointer<HTTP2Connection> {
        UnsafeMutableRawPointer(upstreamH2 + slot).advanced(by: MemoryLayout<HTTP2UpstreamState>.offset(of: \.context)!)
            .assumingMemoryBound(to: HTTP2Connection.self)
    }

    /// Frees the session and what the connection holds (the machine closes the socket).
    func closeUpstreamHTTP2(_ slot: Int) {
        let state = upstreamH2 + slot
        let node = Int(upstreamConnections[slot].node)
        if node < plan.nodeCapacity && http2NodeSessions[node] == Int32(slot) { http2NodeSessions[node] = -1 }
        guard state.pointee.active else { return }
        state.pointee.active = false
        if let session = state.pointee.context.session { nghttp2_session_del(session) }
        state.pointee.context.session = nil
        for block in [
            state.pointee.wireBlock, state.pointee.headBlock, state.pointee.fillBlock, state.pointee.trailerBlock,
        ]
        where block >= 0 {
            blocks.release(block)
        }
        state.pointee.wireBlock = -1
        state.pointee.headBlock = -1
        state.pointee.fillBlock = -1
        state.pointee.trailerBlock = -1
    }

    // MARK: - Frames on the wire

    @inline(__always)
    func queueUpstreamH2(_ slot: Int, _ flag: UInt64) {
        http2Ready.append(
            UInt64(slot) | UInt64(upstreamConnections[slot].generation) << 32 | flag | Self.http2UpstreamFlag
        )
    }

    static var http2UpstreamFlag: UInt64 { 1 << 60 }

    @inline(__always)
    func queueUpstreamH2Flush(_ slot: Int) {
        guard !upstreamH2[slot].flushQueued else { return }
        upstreamH2[slot].flushQueued = true
        queueUpstreamH2(slot, Self.http2FlushFlag)
    }

    /// Runs a queued upstream event (from ``runHTTP2Ready()``).
    func runUpstreamH2Event(_ packed: UInt64) {
        let slot = Int(packed & 0xFFFF_FFFF)
        let generation = UInt32(truncatingIfNeeded: (packed >> 32) & 0xFF_FFFF)
        guard upstreamConnections[slot].generation == generation, upstreamConnections[slot].state != .closed,
            upstreamH2[slot].active || upstreamH2[slot].isStream
        else { return }
        if packed & Self.http2CloseFlag != 0 {
            if upstreamH2[slot].openStreams == 0 { closeUpstream(slot) }
        } else if packed & Self.http2WireFlag != 0 {
            upstreamH2[slot].wireReceiving = false
            upstreamH2ReadTLS(slot)
        } else if packed & Self.http2FlushFlag != 0 {
            upstreamH2[slot].flushQueued = false
            upstreamH2Flush(slot)
        } else if packed & Self.http2CompleteFlag != 0 {
            upstreamH2[slot].completionQueued = false
            upstreamH2CompleteSend(slot)
        } else {
            upstreamH2[slot].deliveryQueued = false
            upstreamH2Deliver(slot)
        }
    }

    /// Sends the frames nghttp2 has ready (one block at a time).
    func upstreamH2Flush(_ slot: Int) {
        let state = upstreamH2 + slot
        guard let session = state.pointee.context.session, !state.pointee.wireSending else { return }
        let block = blocks.take()
        guard block >= 0 else { return }
        let base = blocks.pointer(block)
        var length = 0
        while blocks.blockSize - length >= 16_393 {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            guard count > 0, let data else { break }
            guard count <= blocks.blockSize - length else {
                // A header block larger than what is left: rare, and the request cannot be sent whole.
                blocks.release(block)
                perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
                return
            }
            (base + length).copyMemory(from: data, byteCount: count)
            length += count
        }
        guard length > 0, upstreamConnections[slot].state != .closed else {
            blocks.release(block)
            return
        }
        state.pointee.wireSending = true
        if upstreamTLS[slot].phase != .none {
            let written = upstreamTLS[slot].write(UnsafeRawBufferPointer(start: base, count: length))
            blocks.release(block)
            guard written else {
                ERR_clear_error()
                state.pointee.wireSending = false
                perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
                return
            }
            upstreamTLS[slot].plainInFlight = Int32(length)
            pumpUpstreamTLSOutput(slot)
            return
        }
        state.pointee.wireBlock = block
        state.pointee.wireOffset = 0
        state.pointee.wireLength = Int32(length)
        io.send(
            fd: upstreamConnections[slot].fd,
            buffer: base,
            count: length,
            userData: upstreamData(.upstreamSend, slot)
        )
    }

    /// A send of frames completed (plain socket) with `result`.
    func onUpstreamH2Send(_ slot: Int, _ result: Int32) {
        let state = upstreamH2 + slot
        guard result > 0 else {
            state.pointee.wireSending = false
            perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
            return
        }
        if result < state.pointee.wireLength {
            state.pointee.wireOffset += result
            state.pointee.wireLength -= result
            io.send(
                fd: upstreamConnections[slot].fd,
                buffer: blocks.pointer(state.pointee.wireBlock) + Int(state.pointee.wireOffset),
                count: Int(state.pointee.wireLength),
                userData: upstreamData(.upstreamSend, slot)
            )
            return
        }
        blocks.release(state.pointee.wireBlock)
        state.pointee.wireBlock = -1
        upstreamH2WireSent(slot)
    }

    /// Frames went out (plain or sealed): send what is next.
    func upstreamH2WireSent(_ slot: Int) {
        upstreamH2[slot].wireSending = false
        runHTTP2Ready()
        guard upstreamConnections[slot].state != .closed, upstreamH2[slot].active else { return }
        upstreamH2Flush(slot)
    }

    /// Keeps a receive posted on the socket: HTTP/2 reads whenever the peer sends (SETTINGS, PING).
    func postUpstreamWireReceive(_ slot: Int) {
        let state = upstreamH2 + slot
        guard !state.pointee.wireReceiving else { return }
        if upstreamTLS[slot].phase == .established && upstreamTLS[slot].hasBufferedInput {
            state.pointee.wireReceiving = true
            queueUpstreamH2(slot, Self.http2WireFlag)
            return
        }
        state.pointee.wireReceiving = true
        io.receive(fd: upstreamConnections[slot].fd, userData: upstreamData(.upstreamReceive, slot))
    }

    static var http2WireFlag: UInt64 { 1 << 59 }

    /// Bytes (or the end) arrived on the socket of an HTTP/2 upstream connection.
    func onUpstreamH2Receive(_ slot: Int, _ result: Int32, _ flags: UInt32) {
        let state = upstreamH2 + slot
        state.pointee.wireReceiving = false
        if result == -ENOBUFS {
            postUpstreamWireReceive(slot)
            return
        }
        guard result > 0 else {
            upstreamH2ConnectionLost(slot, result)
            return
        }
        let id = IOCompletion.bufferID(flags)
        if upstreamTLS[slot].phase != .none {
            guard feedReceived(upstreamTLS + slot, result: result, flags: flags) else {
                upstreamH2ConnectionLost(slot, -EPROTO)
                return
            }
            upstreamH2ReadTLS(slot)
            return
        }
        let fed = nghttp2_session_mem_recv(
            state.pointee.context.session,
            io.bufferPointer(id).assumingMemoryBound(to: UInt8.self),
            Int(result)
        )
        io.recycleBuffer(id)
        upstreamH2Received(slot, fed: fed)
    }

    /// Opens the TLS records received into frames for the session.
    func upstreamH2ReadTLS(_ slot: Int) {
        let block = blocks.take()
        guard block >= 0 else {
            upstreamH2ConnectionLost(slot, -ENOMEM)
            return
        }
        defer { blocks.release(block) }
        while upstreamH2[slot].active {
            let buffer = UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
            switch upstreamTLS[slot].read(into: buffer) {
            case .bytes(let count):
                let fed = nghttp2_session_mem_recv(
                    upstreamH2[slot].context.session,
                    buffer.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    count
                )
                guard fed >= 0 else {
                    upstreamH2Received(slot, fed: fed)
                    return
                }
            case .wantRead:
                upstreamH2Received(slot, fed: 0)
                return
            case .closed:
                upstreamH2ConnectionLost(slot, 0)
                return
            case .failed:
                upstreamH2ConnectionLost(slot, -EPROTO)
                return
            }
        }
    }

    private func upstreamH2Received(_ slot: Int, fed: Int) {
        guard fed >= 0 else {
            upstreamH2ConnectionLost(slot, -EPROTO)
            return
        }
        runHTTP2Ready()
        guard upstreamConnections[slot].state != .closed, upstreamH2[slot].active,
            let session = upstreamH2[slot].context.session
        else { return }
        if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 {
            // GOAWAY and nothing in flight: the connection is done.
            upstreamH2ConnectionLost(slot, 0)
            return
        }
        upstreamH2Flush(slot)
        postUpstreamWireReceive(slot)
    }

    /// The session's socket closed or failed: its streams fail as their connections would have.
    func upstreamH2ConnectionLost(_ slot: Int, _ result: Int32) {
        failHTTP2Session(slot, result == 0 ? .closedPrematurely : .connectionFailed)
    }
}
