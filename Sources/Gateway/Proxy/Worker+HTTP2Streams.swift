import CNghttp2
import Glibc

/// HTTP/2 streams, each served on a client slot of its own as an HTTP/1.1 exchange: nghttp2's callbacks
/// write the request into the slot's input, and the slot's output is read back into frames.
extension Worker: HTTP2SessionHandler {
    /// The stream's client slot, if it has one.
    @inline(__always)
    func http2StreamSlot(_ connection: Int, _ stream: Int32) -> Int? {
        guard let session = http2Connections[connection].session,
            let data = nghttp2_session_get_stream_user_data(session, stream)
        else { return nil }
        return Int(bitPattern: data) - 1
    }

    @inline(__always)
    func queueHTTP2(_ slot: Int, _ flag: UInt64) {
        http2Ready.append(UInt64(slot) | UInt64(clients[slot].generation) << 32 | flag)
    }

    // MARK: - Request headers

    package func http2BeginHeaders(connection: Int, stream: Int32, trailers: Bool) -> Int32 {
        guard let session = http2Connections[connection].session else { return 0 }
        if trailers {
            guard let slot = http2StreamSlot(connection, stream) else { return 0 }
            http2Streams[slot].inTrailers = true
            if http2Streams[slot].chunked && http2Streams[slot].trailerBlock < 0 {
                let block = blocks.take()
                guard block >= 0 else { return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
                http2Streams[slot].trailerBlock = block
                http2Streams[slot].trailerLength = http2Append(block, at: 0, "0\r\n")
            }
            return 0
        }
        guard !http2Connections[connection].goaway, !draining, let (slot, fresh) = clientSlots.allocate() else {
            _ = nghttp2_submit_rst_stream(
                session,
                UInt8(NGHTTP2_FLAG_NONE.rawValue),
                stream,
                NGHTTP2_REFUSED_STREAM.rawValue
            )
            return 0
        }
        let block = blocks.take()
        guard block >= 0 else {
            clientSlots.release(slot)
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        resetClientSlot(slot, fresh: fresh)
        clients[slot].clientAddressLength = clients[connection].clientAddressLength
        (clientAddressBytes + slot * 48).copyMemory(from: clientAddressBytes + connection * 48, byteCount: 48)
        clientAddresses[slot] = peerAddresses[connection]
        peerAddresses[slot] = peerAddresses[connection]
        var state = HTTP2StreamState()
        state.live = true
        state.connection = Int32(connection)
        state.connectionGeneration = clients[connection].generation
        state.streamID = stream
        state.headBlock = block
        http2Streams[slot] = state
        _ = nghttp2_session_set_stream_user_data(session, stream, UnsafeMutableRawPointer(bitPattern: slot + 1))
        http2Connections[connection].openStreams += 1
        // A stream ends the connection's idle wait (a send timeout, if one runs, stays).
        if clients[connection].deadline == .keepAlive { clearDeadline(client: connection) }
        telemetry.recordHTTP2Stream(opened: true)
        return 0
    }

    package func http2Header(
        connection: Int,
        stream: Int32,
        name: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    ) -> Int32 {
        guard let slot = http2StreamSlot(connection, stream) else { return 0 }
        let state = http2Streams + slot
        if state.pointee.inTrailers {
            // Trailers of a chunked body become the final chunk's trailer section. A field that cannot go
            // (the body has a content-length, or the section outgrows a block) is marked, and the stream is
            // reset when its HEADERS ends: never dropped silently.
            let block = state.pointee.trailerBlock
            guard block >= 0 else {
                state.pointee.trailerLength = Self.http2TrailersUnforwardable
                return 0
            }
            let length = Int(state.pointee.trailerLength)
            // The line, and the CRLF that ends the section.
            guard length + http2FieldLineLength(name, value) + HTTPBytes.length(Self.http2CRLF) <= blocks.blockSize
            else {
                blocks.release(block)
                state.pointee.trailerBlock = -1
                state.pointee.trailerLength = Self.http2TrailersUnforwardable
                return 0
            }
            var at = Int32(length)
            at = http2Append(block, at: at, name)
            at = http2Append(block, at: at, ": ")
            at = http2Append(block, at: at, value)
            state.pointee.trailerLength = http2Append(block, at: at, Self.http2CRLF)
            return 0
        }
        guard !state.pointee.headTooLarge, state.pointee.headBlock >= 0 else { return 0 }
        let limit = plan.config.http2.maxHeaderListSize ?? plan.httpLimits.maxHeaderBytes
        state.pointee.headerListSize &+= Int32(name.count + value.count) &+ Self.http2FieldOverhead
        guard Int(state.pointee.headerListSize) <= limit else {
            state.pointee.headTooLarge = true
            return 0
        }
        let block = state.pointee.headBlock
        let capacity = Int32(blocks.blockSize)
        if name.first == 0x3A {
            // Pseudo-headers come first (nghttp2 checks); their values wait at the block's end.
            let count = Int32(value.count)
            guard state.pointee.headLength + state.pointee.tailLength + count <= capacity else {
                state.pointee.headTooLarge = true
                return 0
            }
            state.pointee.tailLength += count
            let offset = capacity - state.pointee.tailLength
            if count > 0 {
                (blocks.pointer(block) + Int(offset)).copyMemory(from: value.baseAddress!, byteCount: value.count)
            }
            // Pseudo-header names and methods are case-sensitive (RFC 9113 §8.3, RFC 9110 §9.1).
            if HTTPBytes.equals(name, ":method") {
                state.pointee.methodOffset = offset
                state.pointee.methodLength = count
                state.pointee.isHead = HTTPBytes.equals(value, "HEAD")
            } else if HTTPBytes.equals(name, ":path") {
                state.pointee.pathOffset = offset
                state.pointee.pathLength = count
            } else if HTTPBytes.equals(name, ":authority") {
                state.pointee.authorityOffset = offset
                state.pointee.authorityLength = count
            }
            return 0
        }
        if HTTPBytes.equalsIgnoringCase(name, "host") && state.pointee.authorityLength > 0 { return 0 }
        if HTTPBytes.equalsIgnoringCase(name, "cookie") { return http2AddCookie(state, value) }
        if HTTPBytes.equalsIgnoringCase(name, "content-length") { state.pointee.hasContentLength = true }
        let line = Int32(http2FieldLineLength(name, value))
        guard state.pointee.headLength + line + state.pointee.tailLength <= capacity else {
            state.pointee.headTooLarge = true
            return 0
        }
        var at = state.pointee.headLength
        at = http2Append(block, at: at, name)
        at = http2Append(block, at: at, ": ")
        at = http2Append(block, at: at, value)
        state.pointee.headLength = http2Append(block, at: at, "\r\n")
        return 0
    }

    /// Joins cookie crumbs with "; " into the stream's cookie block.
    private func http2AddCookie(
        _ state: UnsafeMutablePointer<HTTP2StreamState>,
        _ value: UnsafeRawBufferPointer
    )
        -> Int32
    {
        if state.pointee.cookieBlock < 0 {
            state.pointee.cookieBlock = blocks.take()
            guard state.pointee.cookieBlock >= 0 else { return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            state.pointee.cookieLength = 0
        }
        guard Int(state.pointee.cookieLength) + value.count + 2 <= blocks.blockSize else {
            state.pointee.headTooLarge = true
            return 0
        }
        var at = state.pointee.cookieLength
        if at > 0 { at = http2Append(state.pointee.cookieBlock, at: at, "; ") }
        state.pointee.cookieLength = http2Append(state.pointee.cookieBlock, at: at, value)
        return 0
    }

    /// The request's header fields are complete: writes the HTTP/1.1 head the slot will parse.
    func http2FinishHead(_ slot: Int, endStream: Bool) {
        let state = http2Streams + slot
        guard state.pointee.headBlock >= 0, !state.pointee.headDone else { return }
        state.pointee.headDone = true
        state.pointee.chunked = !state.pointee.hasContentLength && !endStream
        if endStream { state.pointee.requestEnded = true }
        let block = state.pointee.headBlock
        let base = blocks.pointer(block)
        let capacity = blocks.blockSize
        if state.pointee.headTooLarge {
            state.pointee.pendingError = 431
        } else if state.pointee.methodLength == 0 || state.pointee.pathLength == 0 {
            state.pointee.pendingError = 400
        } else {
            let method = Int(state.pointee.methodLength)
            let path = Int(state.pointee.pathLength)
            let authority = Int(state.pointee.authorityLength)
            let crlf = HTTPBytes.length(Self.http2CRLF)
            let requestLine =
                method + HTTPBytes.length(" ") + path + HTTPBytes.length(Self.http2RequestVersion)
                + (authority > 0 ? HTTPBytes.length(Self.http2HostPrefix) + authority + crlf : 0)
            let cookie =
                state.pointee.cookieBlock >= 0
                ? HTTPBytes.length(Self.http2CookiePrefix) + Int(state.pointee.cookieLength) + crlf : 0
            let framing = state.pointee.chunked ? HTTPBytes.length(Self.http2ChunkedRequestFraming) : 0
            let headLength = Int(state.pointee.headLength)
            let total = requestLine + headLength + cookie + framing + crlf
            if total > capacity - Int(state.pointee.tailLength) {
                state.pointee.pendingError = 431
            } else {
                (base + requestLine).moveInitializeMemory(
                    as: UInt8.self,
                    from: base.assumingMemoryBound(to: UInt8.self),
                    count: headLength
                )
                let tail = UnsafeRawPointer(base)
                var at: Int32 = 0
                at = http2Append(
                    block,
                    at: at,
                    UnsafeRawBufferPointer(start: tail + Int(state.pointee.methodOffset), count: method)
                )
                at = http2Append(block, at: at, " ")
                at = http2Append(
                    block,
                    at: at,
                    UnsafeRawBufferPointer(start: tail + Int(state.pointee.pathOffset), count: path)
                )
                at = http2Append(block, at: at, Self.http2RequestVersion)
                if authority > 0 {
                    at = http2Append(block, at: at, Self.http2HostPrefix)
                    at = http2Append(
                        block,
                        at: at,
                        UnsafeRawBufferPointer(start: tail + Int(state.pointee.authorityOffset), count: authority)
                    )
                    at = http2Append(block, at: at, Self.http2CRLF)
                }
                at += Int32(headLength)
                if state.pointee.cookieBlock >= 0 {
                    at = http2Append(block, at: at, Self.http2CookiePrefix)
                    at = http2Append(
                        block,
                        at: at,
                        UnsafeRawBufferPointer(
                            start: blocks.pointer(state.pointee.cookieBlock),
                            count: Int(state.pointee.cookieLength)
                        )
                    )
                    at = http2Append(block, at: at, Self.http2CRLF)
                }
                if state.pointee.chunked { at = http2Append(block, at: at, Self.http2ChunkedRequestFraming) }
                at = http2Append(block, at: at, Self.http2CRLF)
                state.pointee.readyBlock = block
                state.pointee.readyLength = at
                state.pointee.headBlock = -1
            }
        }
        if state.pointee.headBlock >= 0 {
            blocks.release(state.pointee.headBlock)
            state.pointee.headBlock = -1
        }
        if state.pointee.cookieBlock >= 0 {
            blocks.release(state.pointee.cookieBlock)
            state.pointee.cookieBlock = -1
        }
        if state.pointee.requestEnded { state.pointee.endWritten = true }
        http2QueueDelivery(slot)
    }

    // MARK: - Frames

    package func http2FrameReceived(connection: Int, frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let stream = frame.pointee.hd.stream_id
        let flags = frame.pointee.hd.flags
        let endStream = flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_DATA.rawValue:
            if frame.pointee.hd.length == 0 && !endStream {
                http2Connections[connection].emptyFrames += 1
                if Int(http2Connections[connection].emptyFrames) > plan.config.http2.maxEmptyFrames {
                    http2Flood(connection, reason: .flood)
                    return 0
                }
            } else if frame.pointee.hd.length > 0 {
                http2Connections[connection].emptyFrames = 0
            }
            if endStream, let slot = http2StreamSlot(connection, stream) { http2RequestEnded(slot) }
        case NGHTTP2_HEADERS.rawValue:
            guard let slot = http2StreamSlot(connection, stream) else { return 0 }
            if http2Streams[slot].inTrailers {
                if http2Streams[slot].trailerLength == Self.http2TrailersUnforwardable {
                    http2RefuseTrailers(slot)
                    return 0
                }
                if let block = Optional(http2Streams[slot].trailerBlock), block >= 0 {
                    http2Streams[slot].trailerLength = http2Append(block, at: http2Streams[slot].trailerLength, "\r\n")
                }
                http2RequestEnded(slot)
            } else {
                http2FinishHead(slot, endStream: endStream)
            }
        case NGHTTP2_RST_STREAM.rawValue:
            telemetry.recordHTTP2Reset(sent: false)
            if !http2TakeResetToken(connection) { http2Flood(connection, reason: .rapidReset) }
        case NGHTTP2_PING.rawValue, NGHTTP2_SETTINGS.rawValue:
            // Each costs an ACK: a client sending them without pause is a flood, not a health check.
            guard flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 else { return 0 }
            if !http2Connections[connection].controlFrames.take(now: now, rate: 100, burst: 1000) {
                http2Flood(connection, reason: .flood)
            }
        default:
            break
        }
        return 0
    }

    /// Trailers the HTTP/1.1 request upstream cannot carry: a body framed by content-length has no trailer
    /// section, and one over a block is not kept. Before the head reached the slot the gateway answers 400
    /// (nothing went upstream); while the request is on its way the stream is reset (RST_STREAM
    /// INTERNAL_ERROR). Both are logged with why. Once the body is no longer read, they go with it.
    private func http2RefuseTrailers(_ slot: Int) {
        guard http2Accepting(slot), clients[slot].state != .closed else {
            http2RequestEnded(slot)
            return
        }
        http2Streams[slot].inTrailers = false
        http2Streams[slot].requestEnded = true
        if http2Streams[slot].readyBlock >= 0 {
            http2Streams[slot].pendingError = 400
            http2QueueDelivery(slot)
            return
        }
        clients[slot].errorMessage = "request trailers cannot be forwarded"
        closeClient(slot)
    }

    /// The rapid-reset bucket: `max_resets_per_second`, with ten seconds' worth as the burst.
    private func http2TakeResetToken(_ connection: Int) -> Bool {
        let rate = Int64(plan.config.http2.maxResetsPerSecond)
        return http2Connections[connection].resets.take(now: now, rate: rate, burst: rate * 10)
    }

    /// A flood: GOAWAY with ENHANCE_YOUR_CALM, counted under `reason`, and the connection closes.
    private func http2Flood(_ connection: Int, reason: HTTP2GoawayReason) {
        guard let session = http2Connections[connection].session, !http2Connections[connection].closeWhenFlushed
        else { return }
        http2Connections[connection].goawayReason = reason
        http2Connections[connection].closeWhenFlushed = true
        _ = nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
    }

    package func http2DataChunk(connection: Int, stream: Int32, data: UnsafeRawBufferPointer) -> Int32 {
        guard let session = http2Connections[connection].session else { return 0 }
        guard let slot = http2StreamSlot(connection, stream), http2Accepting(slot) else {
            // Nobody reads this body any more: its window reopens at once.
            _ = nghttp2_session_consume(session, stream, data.count)
            return 0
        }
        let state = http2Streams + slot
        guard http2AppendBody(&state.pointee.fillBlock, &state.pointee.fillPayload, data) else {
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        if state.pointee.wantsInput { http2QueueDelivery(slot) }
        return 0
    }

    /// Whether the stream's slot still takes request bytes (not answered early, not closed).
    @inline(__always)
    func http2Accepting(_ slot: Int) -> Bool {
        switch clients[slot].state {
        case .idle, .readingHead, .exchanging: return http2Streams[slot].pendingError == 0
        case .responding, .lingering, .closed, .tunneling, .http2: return false
        }
    }

    /// END_STREAM from the client: the body's end goes into the slot's input.
    func http2RequestEnded(_ slot: Int) {
        let state = http2Streams + slot
        guard !state.pointee.requestEnded else { return }
        state.pointee.requestEnded = true
        state.pointee.inTrailers = false
        if state.pointee.chunked && state.pointee.trailerBlock < 0 && state.pointee.fillBlock < 0 {
            // The final chunk needs a block to travel in.
            state.pointee.fillBlock = blocks.take()
            state.pointee.fillPayload = 0
        }
        if state.pointee.wantsInput { http2QueueDelivery(slot) }
    }

    package func http2StreamClosed(connection: Int, stream: Int32, errorCode: UInt32) -> Int32 {
        guard let slot = http2StreamSlot(connection, stream) else { return 0 }
        http2Streams[slot].streamClosed = true
        if clients[slot].state == .closed {
            releaseHTTP2Stream(slot)
        } else if !(http2Streams[slot].response.phase == .done && http2Streams[slot].response.eofSent) {
            // Reset (or ended early) while the exchange runs: it is cut, from the ready queue.
            http2QueueDelivery(slot)
        }
        return 0
    }

    package func http2FrameSent(connection: Int, frame: UnsafePointer<nghttp2_frame>) {
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_GOAWAY.rawValue:
            http2Connections[connection].goaway = true
            telemetry.recordHTTP2Goaway(http2Connections[connection].goawayReason)
        case NGHTTP2_RST_STREAM.rawValue:
            telemetry.recordHTTP2Reset(sent: true)
        case NGHTTP2_DATA.rawValue, NGHTTP2_HEADERS.rawValue:
            // A response sent in full while the client still sends its body: ask it to stop (RFC 9113 §8.1).
            guard frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
                let session = http2Connections[connection].session,
                let slot = http2StreamSlot(connection, frame.pointee.hd.stream_id),
                !http2Streams[slot].requestEnded
            else { return }
            _ = nghttp2_submit_rst_stream(
                session,
                UInt8(NGHTTP2_FLAG_NONE.rawValue),
                frame.pointee.hd.stream_id,
                NGHTTP2_NO_ERROR.rawValue
            )
        default:
            break
        }
    }

    // MARK: - Input to the slot

    @inline(__always)
    func http2QueueDelivery(_ slot: Int) {
        guard !http2Streams[slot].deliveryQueued else { return }
        http2Streams[slot].deliveryQueued = true
        queueHTTP2(slot, Self.http2DeliverFlag)
    }

    /// The slot asks for input (its receive): hand it what is buffered, or wait for the next frame.
    func http2WantInput(_ slot: Int) {
        http2Streams[slot].wantsInput = true
        if http2HasInput(slot) { http2QueueDelivery(slot) }
    }

    @inline(__always)
    func http2HasInput(_ slot: Int) -> Bool {
        let state = http2Streams[slot]
        if state.readyBlock >= 0 { return true }
        if state.fillBlock >= 0
            && (state.fillPayload > 0
                || (state.requestEnded && state.chunked && state.trailerBlock < 0 && !state.endWritten))
        {
            return true
        }
        return state.trailerBlock >= 0 && state.requestEnded && state.fillBlock < 0
    }

    /// Moves the next buffered piece of request into the slot's input and lets the slot act on it.
    func http2DeliverInput(_ slot: Int) {
        let state = http2Streams + slot
        guard state.pointee.live else { return }
        if state.pointee.streamClosed && clients[slot].state != .closed
            && !(state.pointee.response.phase == .done && state.pointee.response.eofSent)
        {
            closeClient(slot)
            return
        }
        guard clients[slot].state != .closed, clients[slot].inputSource == .none else { return }
        if state.pointee.pendingError > 0 {
            let status = Int(state.pointee.pendingError)
            state.pointee.pendingError = 0
            clients[slot].closeAfter = true
            if status == 431 {
                telemetry.recordRejected(.headerTooLarge)
                respondWithError(slot, status: 431, message: "request header fields too large")
            } else if state.pointee.trailerLength == Self.http2TrailersUnforwardable {
                respondWithError(slot, status: 400, message: "request trailers cannot be forwarded")
            } else {
                telemetry.recordRejected(.badRequestLine)
                respondWithError(slot, status: 400, message: "malformed HTTP/2 request")
            }
            state.pointee.pendingError = -1
            return
        }
        var block: Int32 = -1
        var start = 0
        var length = 0
        if state.pointee.readyBlock >= 0 {
            block = state.pointee.readyBlock
            length = Int(state.pointee.readyLength)
            state.pointee.readyBlock = -1
        } else if http2HasInput(slot) && state.pointee.fillBlock >= 0 {
            block = state.pointee.fillBlock
            let payload = Int(state.pointee.fillPayload)
            if state.pointee.chunked {
                let last = state.pointee.requestEnded && state.pointee.trailerBlock < 0
                (start, length) = http2FrameChunk(block, payload: payload, last: last)
                if last { state.pointee.endWritten = true }
            } else {
                start = Int(HTTP2StreamState.bodyReserve)
                length = payload
            }
            state.pointee.fillBlock = -1
            state.pointee.fillPayload = 0
            if payload > 0, let session = http2Connections[Int(state.pointee.connection)].session {
                _ = nghttp2_session_consume(session, state.pointee.streamID, payload)
                queueHTTP2Flush(Int(state.pointee.connection))
            }
        } else if http2HasInput(slot) {
            block = state.pointee.trailerBlock
            length = Int(state.pointee.trailerLength)
            state.pointee.trailerBlock = -1
            state.pointee.endWritten = true
        } else {
            state.pointee.wantsInput = true
            return
        }
        if length == 0 {
            blocks.release(block)
            return
        }
        state.pointee.wantsInput = false
        clients[slot].inputSource = .block
        clients[slot].inputID = block
        clients[slot].inputOffset = Int32(start)
        clients[slot].inputLength = Int32(length)
        clients[slot].inputInFlight = 0
        clients[slot].bytesIn &+= Int64(length)
        processClientInput(slot)
    }

    /// Appends DATA payload to a body block (taken when `block` is -1), after ``HTTP2StreamState/bodyReserve``
    /// and before room for the framing; false without a block, or for bytes beyond the stream window a
    /// block is sized for (only a peer ignoring flow control sends those).
    func http2AppendBody(_ block: inout Int32, _ payload: inout Int32, _ data: UnsafeRawBufferPointer) -> Bool {
        if block < 0 {
            block = blocks.take()
            payload = 0
            guard block >= 0 else { return false }
        }
        let start = Int(HTTP2StreamState.bodyReserve + payload)
        guard start + data.count + Int(HTTP2StreamState.bodyTrailerReserve) <= blocks.blockSize else { return false }
        if data.count > 0 { (blocks.pointer(block) + start).copyMemory(from: data.baseAddress!, byteCount: data.count) }
        payload += Int32(data.count)
        return true
    }

    /// Frames the body payload a block holds from ``HTTP2StreamState/bodyReserve`` as one chunk
    /// (`%08x\r\n` … `\r\n`), then the last chunk when `last`; returns where the framed bytes start and
    /// how many there are.
    func http2FrameChunk(_ block: Int32, payload: Int, last: Bool) -> (start: Int, length: Int) {
        let reserve = Int(HTTP2StreamState.bodyReserve)
        var start = reserve
        var end = reserve + payload
        if payload > 0 {
            start = 0
            HTTP2StreamState.writeChunkSize(payload, to: blocks.pointer(block))
            end = Int(http2Append(block, at: Int32(end), "\r\n"))
        }
        if last { end = Int(http2Append(block, at: Int32(end), "0\r\n\r\n")) }
        return (start, end - start)
    }

    /// Copies `bytes` into `block` at `at`; returns the offset after them.
    @inline(__always)
    func http2Append(_ block: Int32, at: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        if bytes.count > 0 {
            (blocks.pointer(block) + Int(at)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        return at + Int32(bytes.count)
    }

    @inline(__always)
    func http2Append(_ block: Int32, at: Int32, _ text: StaticString) -> Int32 {
        http2Append(block, at: at, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Bytes of `name: value\r\n`, the HTTP/1.1 line a field becomes.
    @inline(__always)
    func http2FieldLineLength(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Int {
        name.count + HTTPBytes.length(": ") + value.count + HTTPBytes.length(Self.http2CRLF)
    }

    // MARK: - HTTP/1.1 text written for streams (named, so lengths are never spelled out)

    static var http2CRLF: StaticString { "\r\n" }
    /// What RFC 9113 §6.5.2 adds per field to a header list's size.
    static var http2FieldOverhead: Int32 { 32 }
    /// `trailerLength` of a stream whose trailers cannot be forwarded.
    static var http2TrailersUnforwardable: Int32 { -1 }
    /// Ends the request line: ` HTTP/1.1` and its CRLF.
    static var http2RequestVersion: StaticString { " HTTP/1.1\r\n" }
    static var http2HostPrefix: StaticString { "Host: " }
    static var http2CookiePrefix: StaticString { "Cookie: " }
    /// The framing line of a request body without `content-length`.
    static var http2ChunkedRequestFraming: StaticString { "Transfer-Encoding: chunked\r\n" }
    /// The framing and blank line ending a chunked response head (the longer of the two endings).
    static var http2ChunkedFraming: StaticString { "Transfer-Encoding: chunked\r\n\r\n" }
    /// The framing and blank line ending a bodiless response head.
    static var http2EmptyFraming: StaticString { "Content-Length: 0\r\n\r\n" }
}
