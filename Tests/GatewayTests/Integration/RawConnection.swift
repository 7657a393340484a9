import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX TCP client for exact request bytes: non-blocking, polled with async sleeps so that
/// parallel tests do not hold the cooperative pool's few threads.
final class RawConnection {
    private let fd: Int32
    private var isOpen = true
    /// Received bytes not yet consumed by `readResponse`.
    private(set) var buffer: [UInt8] = []
    /// Whether the peer has closed (EOF or reset).
    private(set) var peerClosed = false

    /// Connects to 127.0.0.1:`port`; throws when the connection is refused.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IntegrationError("socket() failed: errno \(errno)") }
        var address = Loopback.address(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            isOpen = false
            throw IntegrationError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    func close() {
        if isOpen {
            Glibc.close(fd)
            isOpen = false
        }
    }

    /// Half-closes the sending side (the peer reads EOF).
    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends all of `bytes`, waiting while the socket buffer is full (suspended, so a slow peer never
    /// holds one of the test runner's shared threads).
    func send(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try await Task.sleep(for: .milliseconds(1))
            } else {
                throw IntegrationError("send failed after \(offset) bytes: errno \(errno)")
            }
        }
    }

    /// Reads what is available into `buffer`; waits up to `deadline` for at least one byte or EOF.
    /// Returns false when nothing arrived before the deadline.
    @discardableResult
    func receive(until deadline: ContinuousClock.Instant) async -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                peerClosed = true
                return true
            }
            if ContinuousClock().now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Reads one complete response (a 1xx response counts as one). `method` decides whether HEAD has a body.
    func readResponse(method: String = "GET", timeout: Duration = .seconds(10)) async throws -> RawResponse {
        let deadline = ContinuousClock().now.advanced(by: timeout)
        while true {
            if let (response, consumed) = try RawResponse.parse(buffer, method: method, atEOF: peerClosed) {
                buffer.removeFirst(consumed)
                return response
            }
            if peerClosed {
                throw IntegrationError(
                    "connection closed before a complete response; got \(buffer.count) bytes: \(RawResponse.preview(buffer))"
                )
            }
            guard await receive(until: deadline) else {
                throw IntegrationError("no complete response within \(timeout); have: \(RawResponse.preview(buffer))")
            }
        }
    }

    /// One request on a fresh connection to 127.0.0.1:`port`, closed after the response: the head carries
    /// `Host: t`, `Connection: close`, then `headers`, and a `Content-Length` when there is a body or the
    /// method is POST.
    static func request(
        port: Int,
        method: String = "GET",
        _ target: String,
        headers: [String] = [],
        body: String = "",
        timeout: Duration = .seconds(15)
    ) async throws -> RawResponse {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        for header in headers { head += header + "\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.utf8.count)\r\n" }
        try await connection.send(head + "\r\n" + body)
        return try await connection.readResponse(method: method, timeout: timeout)
    }

    /// Whether the peer closes the connection within `timeout` (any further bytes are kept in `buffer`).
    func waitForClose(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock().now.advanced(by: timeout)
        while !peerClosed {
            guard await receive(until: deadline) else { return false }
        }
        return true
    }
}

/// A parsed HTTP/1.1 response, with the raw head kept for exact checks.
struct RawResponse {
    var status: Int
    var reason: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var trailers: [(name: String, value: String)] = []
    /// How the body was framed: "length", "chunked", "close" or "none".
    var framing: String

    var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The last value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw IntegrationError("body is not a JSON object: \(bodyString)")
        }
        return object
    }

    static func preview(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    }

    /// Parses one response from the front of `bytes`; nil when more bytes are needed.
    static func parse(_ bytes: [UInt8], method: String, atEOF: Bool) throws -> (RawResponse, Int)? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let headText = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw IntegrationError("bad status line: \(statusLine.debugDescription)")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw IntegrationError("bad header line: \(line)") }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            )
        }
        var response = RawResponse(
            status: status,
            reason: parts.count > 2 ? String(parts[2]) : "",
            headers: headers,
            body: [],
            framing: "none"
        )
        let bodyStart = headEnd + 4
        if method == "HEAD" || (100..<200).contains(status) || status == 204 || status == 304 {
            return (response, bodyStart)
        }
        if let te = response.header("Transfer-Encoding") {
            guard te.lowercased() == "chunked" else { throw IntegrationError("unexpected Transfer-Encoding \(te)") }
            response.framing = "chunked"
            return try parseChunked(bytes, from: bodyStart, into: response)
        }
        if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText) else { throw IntegrationError("bad Content-Length \(lengthText)") }
            guard bytes.count >= bodyStart + length else { return nil }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            response.framing = "length"
            return (response, bodyStart + length)
        }
        guard atEOF else { return nil }
        response.body = Array(bytes[bodyStart...])
        response.framing = "close"
        return (response, bytes.count)
    }

    private static func parseChunked(
        _ bytes: [UInt8],
        from start: Int,
        into head: RawResponse
    ) throws -> (RawResponse, Int)? {
        var response = head
        var offset = start
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: offset) else { return nil }
            let line = String(decoding: bytes[offset..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw IntegrationError("bad chunk size line \(line.debugDescription)")
            }
            offset = lineEnd + 2
            if size == 0 {
                // Trailer fields until an empty line.
                while true {
                    guard let end = find([13, 10], in: bytes, from: offset) else { return nil }
                    let field = String(decoding: bytes[offset..<end], as: UTF8.self)
                    offset = end + 2
                    if field.isEmpty { return (response, offset) }
                    guard let colon = field.firstIndex(of: ":") else { throw IntegrationError("bad trailer \(field)") }
                    response.trailers.append(
                        (
                            String(field[..<colon]),
                            field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                        )
                    )
                }
            }
            guard bytes.count >= offset + size + 2 else { return nil }
            response.body.append(contentsOf: bytes[offset..<(offset + size)])
            guard bytes[offset + size] == 13, bytes[offset + size + 1] == 10 else {
                throw IntegrationError("chunk data not followed by CRLF")
            }
            offset += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0] && Array(bytes[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}
