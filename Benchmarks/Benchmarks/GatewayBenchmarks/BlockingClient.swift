import Glibc

/// A keep-alive HTTP/1.1 client over one blocking socket that never allocates after `init`.
///
/// Sends a fixed request and reads one full response (Content-Length framed) per ``roundTrip()``.
/// Any status other than the expected one stops the process, so a benchmark cannot quietly measure
/// error responses.
final class BlockingClient {
    private var fd: Int32
    private let port: UInt16
    private let request: UnsafeMutableRawBufferPointer
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 65536
    private let statusDigits: (UInt8, UInt8, UInt8)

    /// Connects to 127.0.0.1:`port`; `request` is sent verbatim on every round trip.
    init(port: UInt16, request: String, expectedStatus: Int = 200) {
        self.port = port
        fd = LoopbackSockets.connectLoopback(port: port)
        self.request = RawBytes.copy(request)
        buffer = .allocate(capacity: capacity)
        statusDigits = (
            UInt8(0x30 + expectedStatus / 100), UInt8(0x30 + expectedStatus / 10 % 10),
            UInt8(0x30 + expectedStatus % 10)
        )
    }

    deinit {
        close()
        request.deallocate()
        buffer.deallocate()
    }

    /// Closes the connection; the gateway then has no idle client to wait for when it drains.
    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Closes the connection and opens a new one (socket calls only, no allocation in this process).
    func reconnect() {
        close()
        fd = LoopbackSockets.connectLoopback(port: port)
    }

    /// Sends the request and reads the whole response; returns the response's byte count.
    @discardableResult
    func roundTrip() -> Int {
        RawBytes.writeAll(fd, request.baseAddress!, request.count)
        var filled = 0
        var headEnd = 0
        while true {
            filled &+= readSome(into: filled)
            if let end = RawBytes.headEnd(buffer, from: 0, count: filled) {
                headEnd = end
                break
            }
        }
        guard filled >= 12, buffer[9] == statusDigits.0, buffer[10] == statusDigits.1,
            buffer[11] == statusDigits.2
        else {
            fatalError(
                "unexpected response: \(String(decoding: UnsafeBufferPointer(start: buffer, count: filled), as: UTF8.self))"
            )
        }
        let framing = RawBytes.framing(buffer, headEnd: headEnd)
        precondition(!framing.chunked, "the benchmark client reads Content-Length responses only")
        let total = headEnd &+ framing.contentLength
        while filled < total { filled &+= readSome(into: filled) }
        precondition(filled == total, "bytes beyond the response: nothing was pipelined")
        return total
    }

    private func readSome(into offset: Int) -> Int {
        precondition(offset < capacity, "response larger than the client buffer")
        while true {
            let n = read(fd, buffer + offset, capacity &- offset)
            if n > 0 { return n }
            if n < 0 && errno == EINTR { continue }
            fatalError(n == 0 ? "connection closed by peer" : "read failed: errno \(errno)")
        }
    }
}

/// Blocking socket set-up for the benchmark client and upstream; runs outside measured regions.
enum LoopbackSockets {
    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    static func connectLoopback(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket failed: errno \(errno)")
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(result == 0, "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// Listens on 127.0.0.1 with a kernel-picked port; returns the socket and the port.
    static func listenLoopback() -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket failed: errno \(errno)")
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        precondition(bound, "listen on 127.0.0.1:0 failed: errno \(errno)")
        return (fd, UInt16(bigEndian: address.sin_port))
    }
}
