import CNghttp2

/// What a worker answers to nghttp2's callbacks for the HTTP/2 connections it serves.
///
/// nghttp2 calls plain C functions; those cannot be generic, the worker is. The C callbacks in
/// ``HTTP2Session`` find the worker through this protocol (one dynamic call per callback). `connection`
/// is the client slot of the HTTP/2 connection; return values follow nghttp2's callback contracts.
package protocol HTTP2SessionHandler: AnyObject {
    /// A HEADERS frame starts: a new request (``nghttp2_headers_category`` request) or trailers.
    func http2BeginHeaders(connection: Int, stream: Int32, trailers: Bool) -> Int32
    /// One decoded header field of the HEADERS frame being received.
    func http2Header(
        connection: Int,
        stream: Int32,
        name: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    )
        -> Int32
    /// A whole frame was received (after its header fields or data).
    func http2FrameReceived(connection: Int, frame: UnsafePointer<nghttp2_frame>) -> Int32
    /// Request body bytes of `stream`.
    func http2DataChunk(connection: Int, stream: Int32, data: UnsafeRawBufferPointer) -> Int32
    /// `stream` closed (both halves, or reset either way) with `errorCode`.
    func http2StreamClosed(connection: Int, stream: Int32, errorCode: UInt32) -> Int32
    /// A frame went out (GOAWAY and RST_STREAM are counted here).
    func http2FrameSent(connection: Int, frame: UnsafePointer<nghttp2_frame>)
    /// Fills `buffer` with response body bytes of `stream`; returns the count or an nghttp2 error code
    /// (``NGHTTP2_ERR_DEFERRED`` while none are ready) and sets ``NGHTTP2_DATA_FLAG_EOF`` at the end.
    func http2ReadBody(
        connection: Int,
        stream: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int
}

/// The upstream side: HTTP/2 client sessions of `grpc` and `grpcs` upstream connections (`connection` is
/// the upstream slot).
package protocol HTTP2UpstreamHandler: AnyObject {
    /// One decoded field of a response head (`trailers`: of its trailing HEADERS).
    func http2UpstreamHeader(
        connection: Int,
        stream: Int32,
        trailers: Bool,
        name: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    ) -> Int32
    func http2UpstreamFrameReceived(connection: Int, frame: UnsafePointer<nghttp2_frame>) -> Int32
    func http2UpstreamDataChunk(connection: Int, stream: Int32, data: UnsafeRawBufferPointer) -> Int32
    func http2UpstreamStreamClosed(connection: Int, stream: Int32, errorCode: UInt32) -> Int32
    /// Fills `buffer` with request body bytes of `stream` (as ``HTTP2SessionHandler/http2ReadBody``).
    func http2UpstreamReadBody(
        connection: Int,
        stream: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int
}

/// Holds the worker for the C callbacks without a reference count (the worker outlives its sessions).
package final class HTTP2HandlerBox {
    package unowned(unsafe) let handler: any HTTP2SessionHandler
    package unowned(unsafe) let upstreamHandler: any HTTP2UpstreamHandler

    package init(_ handler: any HTTP2SessionHandler & HTTP2UpstreamHandler) {
        self.handler = handler
        upstreamHandler = handler
    }
}
