import CNghttp2
import Glibc

/// HTTP/2 responses: what a stream's slot sends (HTTP/1.1 bytes, as to any client) is read back into a
/// HEADERS frame, DATA pulled by nghttp2 as flow control allows, and trailers. The slot's send completes
/// only once nghttp2 has taken its bytes, so a slow HTTP/2 reader slows the upstream, as on HTTP/1.1.
extension Worker {
    /// The slot of an HTTP/2 stream sends its output.
    func http2StreamOutput(_ slot: Int) {
        let state = http2Streams + slot
        let connection = Int(state.pointee.connection)
        guard let session = http2Connections[connection].session, !state.pointee.streamClosed else {
            closeClient(slot)
            return
        }
        clients[slot].sending = true
        setDeadline(client: slot, .send, after: plan.sendTimeout)
        let c = clients[slot]
        let output = UnsafeRawBufferPointer(
            start: pointer(c.outputSource, c.outputID) + Int(c.outputOffset),
            count: Int(c.outputLength)
        )
        state.pointee.pendingTotal = c.outputLength
        var consumed = 0
        while state.pointee.response.phase == .head && consumed < output.count {
            let view = UnsafeRawBufferPointer(rebasing: output[consumed...])
            guard
                case .complete(let head) = HTTPParser.parseResponseHead(
                    view,
                    headers: http2Headers,
                    requestMethod: state.pointee.isHead ? .head : .get,
                    limits: plan.httpLimits
                ),
                let count = HTTP2ResponseReader.writeFields(
                    head: head,
                    source: view,
                    headers: http2Headers,
                    fields: http2Fields,
                    capacity: http2FieldCapacity,
                    scratch: UnsafeMutableRawBufferPointer(start: http2Scratch, count: blocks.blockSize)
                )
            else {
                // The gateway writes whole, valid heads; anything else is a bug: reset rather than guess.
                http2ResetStream(slot, code: NGHTTP2_INTERNAL_ERROR)
                return
            }
            consumed += head.headLength
            if head.isInformational {
                _ = nghttp2_submit_headers(
                    session,
                    UInt8(NGHTTP2_FLAG_NONE.rawValue),
                    state.pointee.streamID,
                    nil,
                    http2Fields,
                    count,
                    nil
                )
                continue
            }
            state.pointee.response.framer = HTTPBodyFramer(head.body, limits: plan.httpLimits)
            if state.pointee.response.framer.isComplete {
                state.pointee.response.phase = .done
                state.pointee.response.eofSent = true
                guard nghttp2_submit_response(session, state.pointee.streamID, http2Fields, count, nil) == 0 else {
                    http2ResetStream(slot, code: NGHTTP2_INTERNAL_ERROR)
                    return
                }
            } else {
                state.pointee.response.phase = .body
                var provider = nghttp2_data_provider(
                    source: nghttp2_data_source(ptr: nil),
                    read_callback: HTTP2Session.readBody
                )
                guard nghttp2_submit_response(session, state.pointee.streamID, http2Fields, count, &provider) == 0
                else {
                    http2ResetStream(slot, code: NGHTTP2_INTERNAL_ERROR)
                    return
                }
            }
            state.pointee.responseSubmitted = true
        }
        state.pointee.pendingLength = state.pointee.response.phase == .body ? Int32(output.count - consumed) : 0
        if state.pointee.pendingLength == 0 {
            http2QueueCompletion(slot)
        } else if state.pointee.deferred {
            state.pointee.deferred = false
            _ = nghttp2_session_resume_data(session, state.pointee.streamID)
        }
        queueHTTP2Flush(connection)
    }

    @inline(__always)
    func http2QueueCompletion(_ slot: Int) {
        guard !http2Streams[slot].completionQueued else { return }
        http2Streams[slot].completionQueued = true
        queueHTTP2(slot, Self.http2CompleteFlag)
    }

    /// nghttp2 took all of the slot's output: its send is complete.
    func http2CompleteSend(_ slot: Int) {
        guard http2Streams[slot].live, clients[slot].state != .closed, clients[slot].sending else { return }
        let total = http2Streams[slot].pendingTotal
        http2Streams[slot].pendingTotal = 0
        perform(clients[slot].sendCompleted(result: total), client: slot)
    }

    package func http2ReadBody(
        connection: Int,
        stream: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let slot = http2StreamSlot(connection, stream) else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let state = http2Streams + slot
        var written = 0
        if state.pointee.pendingLength > 0 && state.pointee.response.phase == .body {
            guard clients[slot].state != .closed, clients[slot].outputSource != .none else {
                return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
            let c = clients[slot]
            let taken = Int(state.pointee.pendingTotal - state.pointee.pendingLength)
            let source = UnsafeRawPointer(pointer(c.outputSource, c.outputID) + Int(c.outputOffset) + taken)
            let take = min(Int(state.pointee.pendingLength), buffer.count)
            let destination = buffer.baseAddress!
            var framer = state.pointee.response.framer
            let result = framer.consumeDecoding(
                UnsafeRawBufferPointer(start: source, count: take),
                payload: { payload in
                    (destination + written).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                    written += payload.count
                },
                trailer: { byte in self.http2CollectTrailer(state, byte) }
            )
            state.pointee.response.framer = framer
            switch result {
            case .needMore:
                state.pointee.pendingLength -= Int32(take)
            case .done:
                state.pointee.pendingLength = 0
                state.pointee.response.phase = .done
            case .invalid:
                return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
            if state.pointee.pendingLength == 0 { http2QueueCompletion(slot) }
        }
        if state.pointee.response.phase == .body && state.pointee.slotFinished
            && state.pointee.response.framer.isCloseDelimited && state.pointee.pendingLength == 0
        {
            state.pointee.response.phase = .done
        }
        if state.pointee.response.phase == .done {
            state.pointee.response.eofSent = true
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if state.pointee.response.trailerBlock >= 0, let session = http2Connections[connection].session {
                let lines = UnsafeMutableRawBufferPointer(
                    start: blocks.pointer(state.pointee.response.trailerBlock),
                    count: Int(state.pointee.response.trailerLength)
                )
                let count = HTTP2ResponseReader.writeTrailerFields(
                    lines: lines,
                    fields: http2Fields,
                    capacity: http2FieldCapacity
                )
                if count > 0 && nghttp2_submit_trailer(session, stream, http2Fields, count) == 0 {
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                }
            }
            return written
        }
        if written > 0 { return written }
        state.pointee.deferred = true
        return Int(NGHTTP2_ERR_DEFERRED.rawValue)
    }

    /// Keeps a byte of the response's trailer section for the trailing HEADERS frame.
    private func http2CollectTrailer(_ state: UnsafeMutablePointer<HTTP2StreamState>, _ byte: UInt8) {
        if state.pointee.response.trailerBlock < 0 {
            state.pointee.response.trailerBlock = blocks.take()
            state.pointee.response.trailerLength = 0
            if state.pointee.response.trailerBlock < 0 { return }
        }
        // The framer bounds trailer sections by `maxTrailerBytes`; a block holds more.
        guard Int(state.pointee.response.trailerLength) < blocks.blockSize else { return }
        blocks.pointer(state.pointee.response.trailerBlock).storeBytes(
            of: byte,
            toByteOffset: Int(state.pointee.response.trailerLength),
            as: UInt8.self
        )
        state.pointee.response.trailerLength += 1
    }

    /// Resets the stream with `code` and closes its slot.
    func http2ResetStream(_ slot: Int, code: nghttp2_error_code) {
        let state = http2Streams + slot
        if !state.pointee.streamClosed, let session = http2Connections[Int(state.pointee.connection)].session {
            _ = nghttp2_submit_rst_stream(
                session,
                UInt8(NGHTTP2_FLAG_NONE.rawValue),
                state.pointee.streamID,
                code.rawValue
            )
            queueHTTP2Flush(Int(state.pointee.connection))
        }
        closeClient(slot)
    }

    // MARK: - End of a stream's slot

    /// A stream's slot closes (its exchange finished, failed or was cut): the stream ends normally if its
    /// response is complete, else it is reset. The slot itself is freed once nghttp2 closes the stream.
    func closeHTTP2StreamSlot(_ slot: Int) {
        guard clients[slot].state != .closed else { return }
        completeRequest(slot, aborted: true)
        let upstreamSlot = Int(clients[slot].upstream)
        if upstreamSlot >= 0 {
            clients[slot].upstream = -1
            upstreamConnections[upstreamSlot].client = -1
            closeUpstream(upstreamSlot)
        }
        clearDeadline(client: slot)
        if clients[slot].inputSource != .none { release(clients[slot].inputSource, clients[slot].inputID) }
        if clients[slot].outputSource != .none { release(clients[slot].outputSource, clients[slot].outputID) }
        if clients[slot].headBlock >= 0 { release(clients[slot].headSmall ? .small : .block, clients[slot].headBlock) }
        clients[slot].inputSource = .none
        clients[slot].outputSource = .none
        clients[slot].headBlock = -1
        clients[slot].sending = false
        clients[slot].receiving = false
        clients[slot].state = .closed
        let state = http2Streams + slot
        state.pointee.pendingLength = 0
        let connection = Int(state.pointee.connection)
        guard !state.pointee.connectionGone, !state.pointee.streamClosed,
            let session = http2Connections[connection].session
        else {
            if !state.pointee.connectionGone { releaseHTTP2Stream(slot) }
            return
        }
        if state.pointee.slotFinished && state.pointee.response.phase != .head {
            // Finished: a close-delimited body ends here; nghttp2 sends END_STREAM on its next pull.
            if state.pointee.deferred {
                state.pointee.deferred = false
                _ = nghttp2_session_resume_data(session, state.pointee.streamID)
            }
        } else if !(state.pointee.response.phase == .done && state.pointee.response.eofSent) {
            _ = nghttp2_submit_rst_stream(
                session,
                UInt8(NGHTTP2_FLAG_NONE.rawValue),
                state.pointee.streamID,
                NGHTTP2_INTERNAL_ERROR.rawValue
            )
        }
        queueHTTP2Flush(connection)
    }

    /// Frees what the stream still holds and its client slot.
    func releaseHTTP2Stream(_ slot: Int) {
        let state = http2Streams + slot
        guard state.pointee.live else { return }
        for block in [
            state.pointee.headBlock, state.pointee.readyBlock, state.pointee.fillBlock, state.pointee.trailerBlock,
            state.pointee.cookieBlock, state.pointee.response.trailerBlock,
        ] where block >= 0 {
            blocks.release(block)
        }
        state.pointee.live = false
        let connection = Int(state.pointee.connection)
        if !state.pointee.streamClosed && !state.pointee.connectionGone,
            let session = http2Connections[connection].session
        {
            _ = nghttp2_session_set_stream_user_data(session, state.pointee.streamID, nil)
        }
        clientSlots.release(slot)
        telemetry.recordHTTP2Stream(opened: false)
        guard clients[connection].state == .http2, clients[connection].generation == state.pointee.connectionGeneration
        else { return }
        http2Connections[connection].openStreams -= 1
        guard http2Connections[connection].openStreams == 0 else { return }
        if http2Connections[connection].goaway {
            http2Connections[connection].closeWhenFlushed = true
            queueHTTP2Flush(connection)
        } else {
            setDeadline(client: connection, .keepAlive, after: plan.keepaliveTimeout)
        }
    }
}
