import CBenchSSL
import Glibc

/// ``BlockingClient`` over TLS: one keep-alive TLS 1.3 connection (OpenSSL on a blocking socket) that
/// sends a fixed request and reads one Content-Length response per ``roundTrip()``.
///
/// OpenSSL allocates for the handshake only (done in `init`); its steady-state reads and writes on a
/// socket allocate nothing, so the benchmark's count is the gateway's TLS path.
final class TLSBlockingClient {
    private let fd: Int32
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let request: UnsafeMutableRawBufferPointer
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 65536

    init(port: UInt16, serverName: String, request: String) {
        fd = LoopbackSockets.connectLoopback(port: port)
        context = SSL_CTX_new(TLS_client_method())!
        // The gateway's certificate is a throwaway one made for the run: nothing to verify it against.
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        ssl = SSL_new(context)!
        _ = gw_bench_set_host_name(ssl, serverName)
        SSL_set_fd(ssl, fd)
        precondition(SSL_connect(ssl) == 1, "TLS handshake with the gateway failed")
        self.request = RawBytes.copy(request)
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        close()
        SSL_free(ssl)
        SSL_CTX_free(context)
        request.deallocate()
        buffer.deallocate()
    }

    func close() {
        _ = SSL_shutdown(ssl)
        _ = Glibc.close(fd)
    }

    /// Sends the request and reads the whole response; returns its byte count.
    @discardableResult
    func roundTrip() -> Int {
        var written = 0
        precondition(SSL_write_ex(ssl, request.baseAddress, request.count, &written) == 1, "TLS write failed")
        var filled = 0
        var headEnd = 0
        while true {
            filled &+= readSome(into: filled)
            if let end = RawBytes.headEnd(buffer, from: 0, count: filled) {
                headEnd = end
                break
            }
        }
        precondition(filled >= 12 && buffer[9] == 0x32 && buffer[10] == 0x30 && buffer[11] == 0x30, "status not 200")
        let framing = RawBytes.framing(buffer, headEnd: headEnd)
        let total = headEnd &+ framing.contentLength
        while filled < total { filled &+= readSome(into: filled) }
        return total
    }

    private func readSome(into offset: Int) -> Int {
        var count = 0
        precondition(SSL_read_ex(ssl, buffer + offset, capacity &- offset, &count) == 1, "TLS read failed")
        return count
    }
}
