import CNghttp2

/// Creates nghttp2 server sessions whose callbacks reach the worker through ``HTTP2SessionHandler``.
package enum HTTP2Session {
    /// The C callbacks, shared by every session of the process (nghttp2 copies them per session).
    nonisolated(unsafe) private static let callbacks: OpaquePointer? = {
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0 else { return nil }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)
        return callbacks
    }()

    /// A server session for the connection whose ``HTTP2Connection`` is `connection` (its address is the
    /// callbacks' `user_data`), with the gateway's protections set. Nil if nghttp2 cannot allocate.
    package static func makeServer(
        connection: UnsafeMutablePointer<HTTP2Connection>,
        settings: HTTP2Settings
    ) -> OpaquePointer? {
        guard let callbacks else { return nil }
        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0 else { return nil }
        defer { nghttp2_option_del(option) }
        // Flow control follows the worker: a window reopens only as the stream's slot takes its bytes.
        nghttp2_option_set_no_auto_window_update(option, 1)
        // No server push, no RFC 7540 priorities kept per closed stream.
        nghttp2_option_set_no_closed_streams(option, 1)
        // nghttp2's own floods limits stay as a backstop behind the gateway's counted ones.
        nghttp2_option_set_max_outbound_ack(option, 1000)
        nghttp2_option_set_max_settings(option, 32)
        nghttp2_option_set_max_continuations(option, 8)
        let rate = UInt64(settings.maxResetsPerSecond)
        // The gateway's own limit (counted, reason rapid_reset) trips first; nghttp2's is twice as loose.
        nghttp2_option_set_stream_reset_rate_limit(option, rate * 20, rate * 2)
        var session: OpaquePointer?
        guard nghttp2_session_server_new2(&session, callbacks, UnsafeMutableRawPointer(connection), option) == 0
        else { return nil }
        return session
    }

    /// A client session for an upstream connection of a `grpc`/`grpcs` upstream; `connection` is the
    /// upstream slot's context (its `upstream` flag set). Nil if nghttp2 cannot allocate.
    package static func makeClient(connection: UnsafeMutablePointer<HTTP2Connection>) -> OpaquePointer? {
        guard let callbacks else { return nil }
        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0 else { return nil }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_no_closed_streams(option, 1)
        var session: OpaquePointer?
        guard nghttp2_session_client_new2(&session, callbacks, UnsafeMutableRawPointer(connection), option) == 0
        else { return nil }
        return session
    }

    @inline(__always)
    private static func context(_ userData: UnsafeMutableRawPointer?) -> (HTTP2HandlerBox, Int, Bool)? {
        guard let connection = userData?.assumingMemoryBound(to: HTTP2Connection.self),
            let box = connection.pointee.handler
        else { return nil }
        return (box.takeUnretainedValue(), Int(connection.pointee.slot), connection.pointee.upstream)
    }

    @inline(__always)
    private static func handler(_ userData: UnsafeMutableRawPointer?) -> (any HTTP2SessionHandler, Int)? {
        guard let (box, slot, _) = context(userData) else { return nil }
        return (box.handler, slot)
    }

    private static let onBeginHeaders:
        @convention(c) (OpaquePointer?, UnsafePointer<nghttp2_frame>?, UnsafeMutableRawPointer?) -> Int32 = {
            _,
            frame,
            userData in
            guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
                let (box, slot, upstream) = context(userData), !upstream
            else { return 0 }
            let handler = box.handler
            let trailers = frame.pointee.headers.cat != NGHTTP2_HCAT_REQUEST
            return handler.http2BeginHeaders(connection: slot, stream: frame.pointee.hd.stream_id, trailers: trailers)
        }

    private static let onHeader:
        @convention(c) (
            OpaquePointer?, UnsafePointer<nghttp2_frame>?, UnsafePointer<UInt8>?, Int, UnsafePointer<UInt8>?, Int,
            UInt8, UnsafeMutableRawPointer?
        ) -> Int32 = { _, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let (box, slot, upstream) = context(userData) else { return 0 }
            if upstream {
                return box.upstreamHandler.http2UpstreamHeader(
                    connection: slot,
                    stream: frame.pointee.hd.stream_id,
                    trailers: frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS,
                    name: UnsafeRawBufferPointer(start: name, count: nameLength),
                    value: UnsafeRawBufferPointer(start: value, count: valueLength)
                )
            }
            return box.handler.http2Header(
                connection: slot,
                stream: frame.pointee.hd.stream_id,
                name: UnsafeRawBufferPointer(start: name, count: nameLength),
                value: UnsafeRawBufferPointer(start: value, count: valueLength)
            )
        }

    private static let onFrameReceived:
        @convention(c) (OpaquePointer?, UnsafePointer<nghttp2_frame>?, UnsafeMutableRawPointer?) -> Int32 = {
            _,
            frame,
            userData in
            guard let frame, let (box, slot, upstream) = context(userData) else { return 0 }
            if upstream { return box.upstreamHandler.http2UpstreamFrameReceived(connection: slot, frame: frame) }
            return box.handler.http2FrameReceived(connection: slot, frame: frame)
        }

    private static let onDataChunk:
        @convention(c) (OpaquePointer?, UInt8, Int32, UnsafePointer<UInt8>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
            _,
            _,
            stream,
            data,
            length,
            userData in
            guard let (box, slot, upstream) = context(userData) else { return 0 }
            if upstream {
                return box.upstreamHandler.http2UpstreamDataChunk(
                    connection: slot,
                    stream: stream,
                    data: UnsafeRawBufferPointer(start: data, count: length)
                )
            }
            return box.handler.http2DataChunk(
                connection: slot,
                stream: stream,
                data: UnsafeRawBufferPointer(start: data, count: length)
            )
        }

    private static let onStreamClose:
        @convention(c) (OpaquePointer?, Int32, UInt32, UnsafeMutableRawPointer?) -> Int32 = {
            _,
            stream,
            errorCode,
            userData in
            guard let (box, slot, upstream) = context(userData) else { return 0 }
            if upstream {
                return box.upstreamHandler.http2UpstreamStreamClosed(
                    connection: slot,
                    stream: stream,
                    errorCode: errorCode
                )
            }
            return box.handler.http2StreamClosed(connection: slot, stream: stream, errorCode: errorCode)
        }

    private static let onFrameSent:
        @convention(c) (OpaquePointer?, UnsafePointer<nghttp2_frame>?, UnsafeMutableRawPointer?) -> Int32 = {
            _,
            frame,
            userData in
            guard let frame, let (box, slot, upstream) = context(userData), !upstream else { return 0 }
            box.handler.http2FrameSent(connection: slot, frame: frame)
            return 0
        }

    /// The data provider of every body the gateway sends (responses to clients, requests to gRPC
    /// upstreams): nghttp2 pulls the stream's bytes from the worker.
    package static let readBody:
        @convention(c) (
            OpaquePointer?, Int32, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<UInt32>?,
            UnsafeMutablePointer<nghttp2_data_source>?, UnsafeMutableRawPointer?
        ) -> Int = { _, stream, buffer, length, flags, _, userData in
            guard let flags, let (box, slot, upstream) = context(userData) else {
                return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
            }
            if upstream {
                return box.upstreamHandler.http2UpstreamReadBody(
                    connection: slot,
                    stream: stream,
                    into: UnsafeMutableRawBufferPointer(start: buffer, count: length),
                    flags: flags
                )
            }
            return box.handler.http2ReadBody(
                connection: slot,
                stream: stream,
                into: UnsafeMutableRawBufferPointer(start: buffer, count: length),
                flags: flags
            )
        }
}
