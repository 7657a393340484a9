#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client for the exporter thread: one keep-alive connection to the receiver,
/// POST only, every wait bounded by a deadline.
///
/// Waits are `poll(2)` calls of at most `slice` each, with `idle` called between them, so the exporter
/// keeps draining the workers' rings while a slow receiver holds it up; `idle` returning false ends the
/// wait at once (shutdown ran out of time). Thread-confined.
final class OTLPHTTPClient {
    /// A receiver's answer.
    struct Response {
        /// The status code.
        var status: Int
        /// The body, de-chunked.
        var body: [UInt8]
        /// `Retry-After` in seconds, when the receiver sent one as a number.
        var retryAfter: Int?
        /// The `Content-Type`, lowercased ("" when there was none).
        var contentType: String
    }

    let endpoint: SpanExporterConfiguration.Endpoint
    let slice: Duration
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    init(endpoint: SpanExporterConfiguration.Endpoint, slice: Duration) {
        self.endpoint = endpoint
        self.slice = slice
    }

    deinit { self.close() }

    /// Closes the connection (the next request opens a new one).
    func close() {
        if self.fd >= 0 {
            Glibc.close(self.fd)
            self.fd = -1
        }
        self.buffer.removeAll(keepingCapacity: true)
    }

    /// POSTs `body` as `contentType` and returns the answer. A kept-alive connection the receiver closed
    /// in the meantime is replaced once, silently; any other failure closes the connection and throws.
    func post(
        _ body: [UInt8],
        contentType: String,
        deadline: ContinuousClock.Instant,
        idle: () -> Bool
    ) throws(SpanExporterError) -> Response {
        let reused = self.fd >= 0
        do {
            return try self.exchange(body, contentType: contentType, deadline: deadline, idle: idle)
        } catch let error where reused && error.code == .connection {
            // An idle keep-alive connection may have been closed by the receiver: try a fresh one.
            self.close()
        } catch {
            self.close()
            throw error
        }
        do {
            return try self.exchange(body, contentType: contentType, deadline: deadline, idle: idle)
        } catch {
            self.close()
            throw error
        }
    }

    private func exchange(
        _ body: [UInt8],
        contentType: String,
        deadline: ContinuousClock.Instant,
        idle: () -> Bool
    ) throws(SpanExporterError) -> Response {
        if self.fd < 0 { try self.connect(deadline: deadline, idle: idle) }
        let head =
            "POST \(self.endpoint.path) HTTP/1.1\r\nHost: \(self.endpoint.hostHeader)\r\n"
            + "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nUser-Agent: gateway-otlp\r\n\r\n"
        try self.send(Array(head.utf8), deadline: deadline, idle: idle)
        try self.send(body, deadline: deadline, idle: idle)
        return try self.readResponse(deadline: deadline, idle: idle)
    }

    private func connect(deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(self.endpoint.host, String(self.endpoint.port), &hints, &list)
        guard resolved == 0, let list else {
            let why = String(cString: gai_strerror(resolved))
            throw SpanExporterError(.connection, "cannot resolve \(self.endpoint.host): \(why)")
        }
        defer { freeaddrinfo(list) }
        var lastError = SpanExporterError(.connection, "no address for \(self.endpoint.host)")
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(
                current.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                0
            )
            if fd < 0 { continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                do {
                    try self.wait(fd, for: Int16(POLLOUT), deadline: deadline, idle: idle)
                    var failure: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
                    if failure == 0 {
                        self.fd = fd
                        self.buffer.removeAll(keepingCapacity: true)
                        return
                    }
                    lastError = Self.systemError("connect to \(self.endpoint.hostHeader)", failure)
                } catch {
                    Glibc.close(fd)
                    throw error
                }
            } else {
                lastError = Self.systemError("connect to \(self.endpoint.hostHeader)", errno)
            }
            Glibc.close(fd)
        }
        throw lastError
    }

    private func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(self.fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try self.wait(self.fd, for: Int16(POLLOUT), deadline: deadline, idle: idle)
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                throw Self.systemError("send to \(self.endpoint.hostHeader)", errno)
            }
        }
    }

    /// Reads more bytes into `buffer`; returns false at end of stream.
    private func fill(deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(self.fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                self.buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try self.wait(self.fd, for: Int16(POLLIN), deadline: deadline, idle: idle)
            } else if errno != EINTR {
                throw Self.systemError("receive from \(self.endpoint.hostHeader)", errno)
            }
        }
    }

    private func readResponse(deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) -> Response
    {
        // Status line and headers; 1xx interim answers (100 Continue) are skipped.
        while true {
            var headerEnd: Int?
            while true {
                headerEnd = Self.find([13, 10, 13, 10], in: self.buffer)
                if headerEnd != nil { break }
                if self.buffer.count > 64 * 1024 {
                    throw SpanExporterError(.protocolViolation, "the receiver's response head is over 64 KiB")
                }
                guard try self.fill(deadline: deadline, idle: idle) else {
                    throw SpanExporterError(
                        .connection,
                        "\(self.endpoint.hostHeader) closed the connection before answering"
                    )
                }
            }
            let head = String(decoding: self.buffer[0..<headerEnd!], as: UTF8.self)
            self.buffer.removeFirst(headerEnd! + 4)
            var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]),
                (100...999).contains(status)
            else {
                throw SpanExporterError(.protocolViolation, "bad status line from \(self.endpoint.hostHeader)")
            }
            if (100...199).contains(status) { continue }
            var contentLength: Int?
            var chunked = false
            var closes = statusLine[0] == "HTTP/1.0"
            var retryAfter: Int?
            var contentType = ""
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingSpaces().lowercased()
                switch name {
                case "content-length": contentLength = Int(value)
                case "transfer-encoding": chunked = value.hasSuffix("chunked")
                case "connection":
                    if value.contains("close") { closes = true }
                    if value.contains("keep-alive") { closes = false }
                case "retry-after": retryAfter = Int(value)
                case "content-type": contentType = String(value)
                default: break
                }
            }
            var body: [UInt8]
            if chunked {
                body = try self.readChunked(deadline: deadline, idle: idle)
            } else if let contentLength {
                while self.buffer.count < contentLength {
                    guard try self.fill(deadline: deadline, idle: idle) else {
                        throw SpanExporterError(
                            .connection,
                            "the response body from \(self.endpoint.hostHeader) ended early"
                        )
                    }
                }
                body = Array(self.buffer[0..<contentLength])
                self.buffer.removeFirst(contentLength)
            } else if status == 204 || status == 304 {
                body = []
            } else {
                // Delimited by the end of the connection.
                while try self.fill(deadline: deadline, idle: idle) {}
                body = self.buffer
                closes = true
            }
            if closes { self.close() }
            return Response(status: status, body: body, retryAfter: retryAfter, contentType: contentType)
        }
    }

    private func readChunked(deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try self.readLine(deadline: deadline, idle: idle)
            let sizeText = line.prefix { $0 != ";" }.trimmingSpaces()
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw SpanExporterError(.protocolViolation, "bad chunk size from \(self.endpoint.hostHeader)")
            }
            if size == 0 {
                // Trailers, up to the empty line.
                while !(try self.readLine(deadline: deadline, idle: idle)).isEmpty {}
                return body
            }
            while self.buffer.count < size + 2 {
                guard try self.fill(deadline: deadline, idle: idle) else {
                    throw SpanExporterError(.connection, "a chunk from \(self.endpoint.hostHeader) ended early")
                }
            }
            body.append(contentsOf: self.buffer[0..<size])
            self.buffer.removeFirst(size + 2)
        }
    }

    private func readLine(deadline: ContinuousClock.Instant, idle: () -> Bool) throws(SpanExporterError) -> String {
        while true {
            if let end = Self.find([13, 10], in: self.buffer) {
                let line = String(decoding: self.buffer[0..<end], as: UTF8.self)
                self.buffer.removeFirst(end + 2)
                return line
            }
            if self.buffer.count > 8 * 1024 {
                throw SpanExporterError(.protocolViolation, "a chunk line from \(self.endpoint.hostHeader) is too long")
            }
            guard try self.fill(deadline: deadline, idle: idle) else {
                throw SpanExporterError(.connection, "\(self.endpoint.hostHeader) closed a chunked body early")
            }
        }
    }

    /// Waits until `fd` is ready for `events`, calling `idle` every `slice`; throws at the deadline or when
    /// `idle` returns false.
    private func wait(
        _ fd: Int32,
        for events: Int16,
        deadline: ContinuousClock.Instant,
        idle: () -> Bool
    ) throws(SpanExporterError) {
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                throw SpanExporterError(.timeout, "\(self.endpoint.hostHeader) did not answer in time")
            }
            let wait = min(left, self.slice)
            let (seconds, attoseconds) = wait.components
            let milliseconds = Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw Self.systemError("poll", errno) }
            if !idle() {
                throw SpanExporterError(.timeout, "gave up waiting for \(self.endpoint.hostHeader): shutting down")
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            var matches = true
            for offset in 1..<needle.count where haystack[start + offset] != needle[offset] {
                matches = false
                break
            }
            if matches { return start }
        }
        return nil
    }

    private static func systemError(_ what: String, _ code: Int32) -> SpanExporterError {
        SpanExporterError(.connection, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> Substring {
        let text = Substring(self)
        let start = text.firstIndex { $0 != " " && $0 != "\t" } ?? text.endIndex
        let end = text.lastIndex { $0 != " " && $0 != "\t" }.map { text.index(after: $0) } ?? start
        return text[start..<Swift.max(start, end)]
    }
}
