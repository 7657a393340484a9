import CNghttp2
import Glibc

/// HTTP/2 streams to `grpc` and `grpcs` upstreams: the HTTP/1.1 request a stream slot's machine sends is
/// submitted as HEADERS and DATA, and the response is handed back to it as HTTP/1.1 bytes (see
/// ``HTTP2UpstreamState``; the sessions that carry the streams are in Worker+UpstreamHTTP2Sessions.swift).
extension Worker: HTTP2UpstreamHandler {
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
        guard
            let all = HTTP2ResponseReader.appendHeaders(
                headers: http2Headers,
                source: source,
                skipping: .host,
                fields: http2Fields,
                count: count,
                capacity: http2FieldCapacity - 1,
                scratch: scratch,
                used: 0
            )
        else { return nil }
        count = all
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
        if HTTPBytes.equalsIgnoringCase(name, "grpc-status") {
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
            // The field's line, and the CRLF that ends the section once the stream ends.
            guard
                Int(state.pointee.trailerLength) + http2FieldLineLength(name, value) + HTTPBytes.length("\r\n")
                    <= blocks.blockSize
            else { return 0 }
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
        if HTTPBytes.equals(name, ":status") {
            var status: Int16 = 0
            for byte in value where byte >= 0x30 && byte <= 0x39 { status = status &* 10 &+ Int16(byte - 0x30) }
            state.pointee.status = status
            var at = http2Append(block, at: state.pointee.headLength, "HTTP/1.1 ")
            at = http2Append(block, at: at, value)
            state.pointee.headLength = http2Append(block, at: at, " \r\n")
            return 0
        }
        // The body is re-framed as chunks; a length the upstream gave no longer applies.
        if name.first == HTTPBytes.colon || HTTPBytes.equalsIgnoringCase(name, "content-length") { return 0 }
        // Room for the line and for the framing header and blank line written when the head ends.
        let framing = HTTPBytes.length(Self.http2ChunkedFraming)
        guard Int(state.pointee.headLength) + http2FieldLineLength(name, value) + framing <= blocks.blockSize else {
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
                let framing = bodiless ? Self.http2EmptyFraming : Self.http2ChunkedFraming
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
        guard http2AppendBody(&state.pointee.fillBlock, &state.pointee.fillPayload, data) else {
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
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
            let last = state.pointee.responseEnded && state.pointee.trailerBlock < 0
            let framed = http2FrameChunk(block, payload: payload, last: last)
            if last { state.pointee.endDelivered = true }
            length = framed.length
            // The machine reads a receive buffer from its start.
            if framed.start > 0 {
                let base = blocks.pointer(block)
                base.copyMemory(from: base + framed.start, byteCount: length)
            }
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

}
