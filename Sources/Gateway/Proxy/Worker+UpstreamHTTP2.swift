import CNghttp2
import CSSL
import Glibc

/// HTTP/2 to `grpc` and `grpcs` upstreams: per node, sessions (sockets with an nghttp2 client session)
/// that multiplex stream slots, each running the ordinary upstream machine (see ``HTTP2UpstreamState``).
extension Worker: HTTP2UpstreamHandler {
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
        clearDeadline(upstream: session)
        if upstreamH2[session].active {
            // The session is up: the stream can go at once.
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

    /// A stream slot's exchange is over (completed or abandoned): its stream is reset if still open, and
    /// the slot freed; the session keeps serving others.
    func releaseHTTP2Stream(upstream slot: Int) {
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
        clearDeadline(upstream: slot)
        if upstreamConnections[slot].outputSource != .none && !upstreamConnections[slot].outputBorrowed {
            release(upstreamConnections[slot].outputSource, upstreamConnections[slot].outputID)
        }
        if upstreamConnections[slot].retainedBlock >= 0 { blocks.release(upstreamConnections[slot].retainedBlock) }
        if upstreamConnections[slot].headBlock >= 0 { blocks.release(upstreamConnections[slot].headBlock) }
        if upstreamConnections[slot].pendingBuffer >= 0 {
            recycleResponseBuffer(upstreamConnections[slot].pendingBuffer)
        }
        upstreamConnections[slot].retainedBlock = -1
        upstreamConnections[slot].headBlock = -1
        upstreamConnections[slot].pendingBuffer = -1
        upstreamConnections[slot].outputSource = .none
        upstreamConnections[slot].state = .closed
        upstreamSlots.release(slot)
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

    // MARK: - Request

    /// The machine sends output (the request head, or body bytes): submit or hand it to nghttp2.
    func upstreamH2Output(_ slot: Int) {
        let state = upstreamH2 + slot
        guard let owner = http2SessionOf(slot), let session = upstreamH2[owner].context.session else {
            perform(.fail(.connectionFailed, mayRetry: !upstreamConnections[slot].responseStarted), upstream: slot)
            return
        }
        upstreamConnections[slot].sending = true
        let u = upstreamConnections[slot]
        setDeadline(upstream: slot, .send, after: plan.upstreams[Int(u.upstream)].sendTimeout)
        let output = UnsafeRawBufferPointer(
            start: pointer(u.outputSource, u.outputID) + Int(u.outputOffset),
            count: Int(u.outputLength)
        )
        state.pointee.pendingTotal = u.outputLength
        var consumed = 0
        if state.pointee.streamID == 0 {
            guard
                case .complete(let head) = HTTPParser.parseRequestHead(
                    output,
                    headers: http2Headers,
                    limits: plan.httpLimits
                ),
                let count = upstreamH2RequestFields(head, output, secure: plan.upstreams[Int(u.upstream)].secure)
            else {
                upstreamConnections[slot].sending = false
                perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
                return
            }
            consumed = head.headLength
            state.pointee.requestFramer = HTTPBodyFramer(head.body, limits: plan.httpLimits)
            state.pointee.requestEnded = state.pointee.requestFramer.isComplete
            resetUpstreamH2Response(slot)
            // The stream finds its slot through its user data (set here: the stream exists only once sent).
            let streamData = UnsafeMutableRawPointer(bitPattern: slot + 1)
            let stream: Int32
            if state.pointee.requestEnded {
                stream = nghttp2_submit_request(session, nil, http2Fields, count, nil, streamData)
            } else {
                var provider = nghttp2_data_provider(
                    source: nghttp2_data_source(ptr: nil),
                    read_callback: HTTP2Session.readBody
                )
                stream = nghttp2_submit_request(session, nil, http2Fields, count, &provider, streamData)
            }
            guard stream > 0 else {
                upstreamConnections[slot].sending = false
                perform(.fail(.connectionFailed, mayRetry: true), upstream: slot)
                return
            }
            state.pointee.streamID = stream
        }
        state.pointee.pendingLength = state.pointee.requestEnded ? 0 : Int32(output.count - consumed)
        if state.pointee.pendingLength == 0 {
            upstreamH2QueueCompletion(slot)
        } else if state.pointee.deferred {
            state.pointee.deferred = false
            _ = nghttp2_session_resume_data(session, state.pointee.streamID)
        }
        queueUpstreamH2Flush(owner)
    }

    /// The nghttp2 fields of request `head` (from `source`): pseudo-headers from the request line and
    /// Host, then the end-to-end headers, plus `te: trailers` (gRPC servers require it).
    private func upstreamH2RequestFields(
        _ head: HTTPRequestHead,
        _ source: UnsafeRawBufferPointer,
        secure: Bool
    )
        -> Int?
    {
        let scratch = UnsafeMutableRawBufferPointer(start: http2Scratch, count: blocks.blockSize)
        var used = 0
        func text(_ value: StaticString) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount)
        }
        let methodRange = 0..<(head.pathRange.lowerBound - 1)
        var count = 0
        http2Fields[count] = HTTP2ResponseReader.field(
            text(":method"),
            UnsafeRawBufferPointer(rebasing: source[methodRange])
        )
        count += 1
        http2Fields[count] = HTTP2ResponseReader.field(text(":scheme"), secure ? text("https") : text("http"))
        count += 1
        http2Fields[count] = HTTP2ResponseReader.field(
            text(":path"),
            UnsafeRawBufferPointer(rebasing: source[head.pathRange])
        )
        count += 1
        if let host = head.host {
            http2Fields[count] = HTTP2ResponseReader.field(
                text(":authority"),
                UnsafeRawBufferPointer(rebasing: source[host])
            )
            count += 1
        }
        for index in 0..<http2Headers.count {
            let kind = http2Headers.kind(index)
            guard !http2Headers.isHopByHop(index), kind != .host else { continue }
            let name = http2Headers.name(index)
            guard count < http2FieldCapacity - 1, used + name.count <= scratch.count else { return nil }
            for offset in 0..<name.count {
                scratch[used + offset] = HTTPBytes.lowercased(source[name.lowerBound + offset])
            }
            http2Fields[count] = HTTP2ResponseReader.field(
                UnsafeRawBufferPointer(rebasing: scratch[used..<used + name.count]),
                UnsafeRawBufferPointer(rebasing: source[http2Headers.value(index)])
            )
            used += name.count
            count += 1
        }
        http2Fields[count] = HTTP2ResponseReader.field(text("te"), text("trailers"))
        return count + 1
    }

    @inline(__always)
    func upstreamH2QueueCompletion(_ slot: Int) {
        guard !upstreamH2[slot].completionQueued else { return }
        upstreamH2[slot].completionQueued = true
        queueUpstreamH2(slot, Self.http2CompleteFlag)
    }

    /// nghttp2 took the machine's output: its send is complete.
    func upstreamH2CompleteSend(_ slot: Int) {
        guard upstreamH2[slot].isStream, upstreamConnections[slot].sending else { return }
        let total = upstreamH2[slot].pendingTotal
        upstreamH2[slot].pendingTotal = 0
        perform(upstreamConnections[slot].sendCompleted(result: max(total, 1)), upstream: slot)
    }

    package func http2UpstreamReadBody(
        connection session: Int,
        stream: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let slot = http2UpstreamStreamSlot(session, stream) else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let state = upstreamH2 + slot
        guard stream == state.pointee.streamID else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        var written = 0
        if state.pointee.pendingLength > 0 && !state.pointee.requestEnded {
            let u = upstreamConnections[slot]
            guard u.outputSource != .none else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            let taken = Int(state.pointee.pendingTotal - state.pointee.pendingLength)
            let source = UnsafeRawPointer(pointer(u.outputSource, u.outputID) + Int(u.outputOffset) + taken)
            let take = min(Int(state.pointee.pendingLength), buffer.count)
            let destination = buffer.baseAddress!
            var framer = state.pointee.requestFramer
            let result = framer.consumeDecoding(UnsafeRawBufferPointer(start: source, count: take)) { payload in
                (destination + written).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                written += payload.count
            }
            state.pointee.requestFramer = framer
            switch result {
            case .needMore: state.pointee.pendingLength -= Int32(take)
            case .done:
                state.pointee.pendingLength = 0
                state.pointee.requestEnded = true
            case .invalid: return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
            if state.pointee.pendingLength == 0 { upstreamH2QueueCompletion(slot) }
        }
        if state.pointee.requestEnded {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return written
        }
        if written > 0 { return written }
        state.pointee.deferred = true
        return Int(NGHTTP2_ERR_DEFERRED.rawValue)
    }

    // MARK: - Response

    /// A new exchange on the connection: no response yet.
    func resetUpstreamH2Response(_ slot: Int) {
        let state = upstreamH2 + slot
        for block in [state.pointee.headBlock, state.pointee.fillBlock, state.pointee.trailerBlock] where block >= 0 {
            blocks.release(block)
        }
        state.pointee.headBlock = -1
        state.pointee.headLength = 0
        state.pointee.headDone = false
        state.pointee.status = 0
        state.pointee.fillBlock = -1
        state.pointee.fillPayload = 0
        state.pointee.trailerBlock = -1
        state.pointee.trailerLength = 0
        state.pointee.inTrailers = false
        state.pointee.chunked = false
        state.pointee.responseEnded = false
        state.pointee.endDelivered = false
        state.pointee.failed = false
        state.pointee.grpcStatus = -1
        state.pointee.deferred = false
    }

    package func http2UpstreamHeader(
        connection session: Int,
        stream: Int32,
        trailers: Bool,
        name: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    ) -> Int32 {
        guard let slot = http2UpstreamStreamSlot(session, stream) else { return 0 }
        let state = upstreamH2 + slot
        guard stream == state.pointee.streamID else { return 0 }
        if name.count == 11 && http2Equal(name, "grpc-status") {
            var code: Int16 = 0
            for byte in value where byte >= 0x30 && byte <= 0x39 { code = code &* 10 &+ Int16(byte - 0x30) }
            state.pointee.grpcStatus = code
        }
        if trailers || state.pointee.headDone {
            // Trailers follow the body as the final chunk's trailer section.
            state.pointee.inTrailers = true
            if state.pointee.trailerBlock < 0 {
                state.pointee.trailerBlock = blocks.take()
                guard state.pointee.trailerBlock >= 0 else {
                    return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
                }
                state.pointee.trailerLength = http2Append(state.pointee.trailerBlock, at: 0, "0\r\n")
            }
            guard Int(state.pointee.trailerLength) + name.count + value.count + 8 <= blocks.blockSize else { return 0 }
            var at = http2Append(state.pointee.trailerBlock, at: state.pointee.trailerLength, name)
            at = http2Append(state.pointee.trailerBlock, at: at, ": ")
            at = http2Append(state.pointee.trailerBlock, at: at, value)
            state.pointee.trailerLength = http2Append(state.pointee.trailerBlock, at: at, "\r\n")
            return 0
        }
        if state.pointee.headBlock < 0 {
            state.pointee.headBlock = blocks.take()
            guard state.pointee.headBlock >= 0 else { return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            state.pointee.headLength = 0
        }
        let block = state.pointee.headBlock
        if name.count == 7 && http2Equal(name, ":status") {
            var status: Int16 = 0
            for byte in value where byte >= 0x30 && byte <= 0x39 { status = status &* 10 &+ Int16(byte - 0x30) }
            state.pointee.status = status
            var at = http2Append(block, at: state.pointee.headLength, "HTTP/1.1 ")
            at = http2Append(block, at: at, value)
            state.pointee.headLength = http2Append(block, at: at, " \r\n")
            return 0
        }
        // The body is re-framed as chunks; a length the upstream gave no longer applies.
        if name.first == 0x3A || (name.count == 14 && http2Equal(name, "content-length")) { return 0 }
        guard Int(state.pointee.headLength) + name.count + value.count + 64 <= blocks.blockSize else {
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        var at = http2Append(block, at: state.pointee.headLength, name)
        at = http2Append(block, at: at, ": ")
        at = http2Append(block, at: at, value)
        state.pointee.headLength = http2Append(block, at: at, "\r\n")
        return 0
    }

    package func http2UpstreamFrameReceived(connection session: Int, frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        if UInt32(frame.pointee.hd.type) == NGHTTP2_GOAWAY.rawValue {
            // The node is going away: no new streams here; those below the last id finish.
            upstreamH2[session].retired = true
            let node = Int(upstreamConnections[session].node)
            if http2NodeSessions[node] == Int32(session) { http2NodeSessions[node] = -1 }
            return 0
        }
        guard let slot = http2UpstreamStreamSlot(session, frame.pointee.hd.stream_id) else { return 0 }
        let state = upstreamH2 + slot
        guard frame.pointee.hd.stream_id == state.pointee.streamID, state.pointee.streamID != 0 else { return 0 }
        let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            if state.pointee.headDone {
                if endStream { upstreamH2ResponseEnded(slot) }
            } else if state.pointee.status >= 100 && state.pointee.status < 200 {
                // An interim response: the final one follows.
                state.pointee.headLength = 0
                state.pointee.status = 0
            } else if state.pointee.headBlock >= 0 {
                let bodiless = endStream || state.pointee.status == 204 || state.pointee.status == 304
                state.pointee.chunked = !bodiless
                let framing: StaticString =
                    bodiless ? "Content-Length: 0\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n"
                state.pointee.headLength = http2Append(state.pointee.headBlock, at: state.pointee.headLength, framing)
                state.pointee.headDone = true
                if endStream { upstreamH2ResponseEnded(slot) }
                upstreamH2QueueDelivery(slot)
            }
        case NGHTTP2_DATA.rawValue:
            if endStream { upstreamH2ResponseEnded(slot) }
        default:
            break
        }
        return 0
    }

    private func upstreamH2ResponseEnded(_ slot: Int) {
        let state = upstreamH2 + slot
        state.pointee.responseEnded = true
        if state.pointee.trailerBlock >= 0 {
            state.pointee.trailerLength = http2Append(
                state.pointee.trailerBlock,
                at: state.pointee.trailerLength,
                "\r\n"
            )
        } else if state.pointee.chunked && state.pointee.fillBlock < 0 {
            state.pointee.fillBlock = blocks.take()
            state.pointee.fillPayload = 0
        }
        upstreamH2QueueDelivery(slot)
    }

    package func http2UpstreamDataChunk(connection owner: Int, stream: Int32, data: UnsafeRawBufferPointer) -> Int32 {
        guard let session = upstreamH2[owner].context.session else { return 0 }
        guard let slot = http2UpstreamStreamSlot(owner, stream), upstreamH2[slot].streamID == stream,
            upstreamH2[slot].headDone, upstreamH2[slot].chunked
        else {
            _ = nghttp2_session_consume(session, stream, data.count)
            return 0
        }
        let state = upstreamH2 + slot
        if state.pointee.fillBlock < 0 {
            state.pointee.fillBlock = blocks.take()
            state.pointee.fillPayload = 0
            guard state.pointee.fillBlock >= 0 else { return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        }
        let start = Int(HTTP2StreamState.bodyReserve + state.pointee.fillPayload)
        guard start + data.count + Int(HTTP2StreamState.bodyTrailerReserve) <= blocks.blockSize else {
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        if data.count > 0 {
            (blocks.pointer(state.pointee.fillBlock) + start).copyMemory(from: data.baseAddress!, byteCount: data.count)
        }
        state.pointee.fillPayload += Int32(data.count)
        upstreamH2QueueDelivery(slot)
        return 0
    }

    package func http2UpstreamStreamClosed(connection session: Int, stream: Int32, errorCode: UInt32) -> Int32 {
        guard let slot = http2UpstreamStreamSlot(session, stream) else { return 0 }
        let state = upstreamH2 + slot
        guard stream == state.pointee.streamID else { return 0 }
        if !state.pointee.responseEnded {
            // Reset (or ended) before the response did: the machine sees the connection fail.
            state.pointee.failed = true
            upstreamH2QueueDelivery(slot)
        }
        return 0
    }

    @inline(__always)
    func upstreamH2QueueDelivery(_ slot: Int) {
        guard !upstreamH2[slot].deliveryQueued else { return }
        upstreamH2[slot].deliveryQueued = true
        queueUpstreamH2(slot, Self.http2DeliverFlag)
    }

    /// The machine asks for response bytes (its receive).
    func upstreamH2WantResponse(_ slot: Int) {
        upstreamConnections[slot].receiving = true
        upstreamH2[slot].wantsResponse = true
        upstreamH2QueueDelivery(slot)
        guard upstreamConnections[slot].state != .tunneling else { return }
        setDeadline(upstream: slot, .read, after: plan.upstreams[Int(upstreamConnections[slot].upstream)].readTimeout)
    }

    /// Hands the machine the next piece of the response, if it asked and one is ready.
    func upstreamH2Deliver(_ slot: Int) {
        let state = upstreamH2 + slot
        guard state.pointee.isStream, state.pointee.wantsResponse, upstreamConnections[slot].state != .closed else {
            return
        }
        var block: Int32 = -1
        var length = 0
        if state.pointee.headDone && state.pointee.headBlock >= 0 {
            block = state.pointee.headBlock
            length = Int(state.pointee.headLength)
            state.pointee.headBlock = -1
            // A bodiless head is the whole response for the machine.
            if !state.pointee.chunked { state.pointee.endDelivered = true }
        } else if state.pointee.fillBlock >= 0
            && (state.pointee.fillPayload > 0 || (state.pointee.responseEnded && state.pointee.trailerBlock < 0))
        {
            block = state.pointee.fillBlock
            let payload = Int(state.pointee.fillPayload)
            let base = blocks.pointer(block)
            var end = 0
            if payload > 0 {
                HTTP2StreamState.writeChunkSize(payload, to: base)
                end = Int(http2Append(block, at: Int32(Int(HTTP2StreamState.bodyReserve) + payload), "\r\n"))
            }
            if state.pointee.responseEnded && state.pointee.trailerBlock < 0 {
                end = Int(http2Append(block, at: Int32(end), "0\r\n\r\n"))
                state.pointee.endDelivered = true
            }
            length = end
            state.pointee.fillBlock = -1
            state.pointee.fillPayload = 0
            if payload > 0, let owner = http2SessionOf(slot), let session = upstreamH2[owner].context.session {
                _ = nghttp2_session_consume(session, state.pointee.streamID, payload)
                queueUpstreamH2Flush(owner)
            }
        } else if state.pointee.trailerBlock >= 0 && state.pointee.responseEnded && state.pointee.fillBlock < 0 {
            block = state.pointee.trailerBlock
            length = Int(state.pointee.trailerLength)
            state.pointee.trailerBlock = -1
            state.pointee.endDelivered = true
        } else if state.pointee.failed && !state.pointee.endDelivered {
            state.pointee.wantsResponse = false
            upstreamConnections[slot].receiving = false
            onUpstreamReceive(slot, -ECONNRESET, 0)
            return
        } else {
            return
        }
        state.pointee.wantsResponse = false
        if state.pointee.endDelivered {
            let client = Int(upstreamConnections[slot].client)
            if client >= 0 { clients[client].grpcStatus = state.pointee.grpcStatus }
        }
        clearDeadline(upstream: slot)
        let client = Int(upstreamConnections[slot].client)
        let action = upstreamConnections[slot].receiveCompleted(
            result: Int32(length),
            buffer: block | Self.responseBlockTag,
            clientSending: client >= 0 && clients[client].sending
        )
        perform(action, upstream: slot)
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
