import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One blocking HTTP/1.1 connection to an etcd member's JSON gateway, every wait bounded by a deadline.
///
/// Control-plane threads only (the watch thread, the Admin API's thread): it blocks in `poll(2)`. The socket
/// is non-blocking underneath so that each wait has a deadline; TCP keepalive finds a peer that vanished.
final class EtcdConnection {
    /// An HTTP response head.
    struct Head {
        var status: Int
        var chunked: Bool
        var contentLength: Int?
    }

    let endpoint: EtcdSettings.Endpoint
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Bytes left of the current chunk of a chunked body (nil: at a chunk-size line).
    private var chunkLeft: Int?
    private var finished = false

    /// Connects to `endpoint`, trying each of its addresses, until `deadline`.
    init(endpoint: EtcdSettings.Endpoint, deadline: ContinuousClock.Instant) throws(EtcdError) {
        self.endpoint = endpoint
        self.fd = try Self.connect(endpoint, deadline: deadline)
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Sends `POST path` with a JSON body and reads the response head.
    func post(
        _ path: String,
        body: [UInt8],
        token: String?,
        deadline: ContinuousClock.Instant
    ) throws(EtcdError)
        -> Head
    {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        if let token { head += "Authorization: \(token)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body, deadline: deadline)
        return try readHead(deadline: deadline)
    }

    /// The whole body of a response with `head` (Content-Length, chunked, or until close).
    func readBody(_ head: Head, deadline: ContinuousClock.Instant) throws(EtcdError) -> [UInt8] {
        var body: [UInt8] = []
        while let piece = try readBodyPiece(head, deadline: deadline) { body += piece }
        return body
    }

    /// The next bytes of the body (nil at its end); for a streamed (chunked) answer such as a watch.
    func readBodyPiece(_ head: Head, deadline: ContinuousClock.Instant) throws(EtcdError) -> [UInt8]? {
        if finished { return nil }
        if head.chunked { return try readChunk(deadline: deadline) }
        if let length = head.contentLength {
            while buffer.count < length {
                guard try fill(deadline: deadline) else { throw closedEarly() }
            }
            finished = true
            let body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            return body
        }
        if buffer.isEmpty, try !fill(deadline: deadline) {
            finished = true
            return nil
        }
        defer { buffer.removeAll() }
        return buffer
    }

    private func readChunk(deadline: ContinuousClock.Instant) throws(EtcdError) -> [UInt8]? {
        while true {
            if let left = chunkLeft {
                if left == 0 {
                    // The CRLF after a chunk's data.
                    while buffer.count < 2 {
                        guard try fill(deadline: deadline) else { throw closedEarly() }
                    }
                    buffer.removeFirst(2)
                    chunkLeft = nil
                    continue
                }
                if buffer.isEmpty {
                    guard try fill(deadline: deadline) else { throw closedEarly() }
                }
                let count = min(left, buffer.count)
                let piece = Array(buffer[0..<count])
                buffer.removeFirst(count)
                chunkLeft = left - count
                return piece
            }
            guard let lineEnd = try line(deadline: deadline) else { throw closedEarly() }
            let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            buffer.removeFirst(lineEnd + 2)
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw EtcdError(.protocolViolation, "bad chunk size from \(endpoint)")
            }
            if size == 0 {
                // Trailers end with an empty line.
                while let end = try line(deadline: deadline), end > 0 { buffer.removeFirst(end + 2) }
                if buffer.count >= 2 { buffer.removeFirst(2) }
                finished = true
                return nil
            }
            chunkLeft = size
        }
    }

    /// The offset of the next CRLF in the buffer, reading as needed (nil at end of stream).
    private func line(deadline: ContinuousClock.Instant) throws(EtcdError) -> Int? {
        var from = 0
        while true {
            if buffer.count >= 2 {
                for index in from..<(buffer.count - 1) where buffer[index] == 13 && buffer[index + 1] == 10 {
                    return index
                }
                from = buffer.count - 1
            }
            if buffer.count > 64 * 1024 { throw EtcdError(.protocolViolation, "a line over 64 KiB from \(endpoint)") }
            guard try fill(deadline: deadline) else { return nil }
        }
    }

    private func readHead(deadline: ContinuousClock.Instant) throws(EtcdError) -> Head {
        while true {
            var end: Int?
            while end == nil {
                if buffer.count >= 4 {
                    for index in 0...(buffer.count - 4)
                    where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13
                        && buffer[index + 3] == 10
                    {
                        end = index
                        break
                    }
                }
                if end != nil { break }
                if buffer.count > 64 * 1024 { throw EtcdError(.protocolViolation, "response head over 64 KiB") }
                guard try fill(deadline: deadline) else { throw closedEarly() }
            }
            let text = String(decoding: buffer[0..<end!], as: UTF8.self)
            buffer.removeFirst(end! + 4)
            var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
                throw EtcdError(.protocolViolation, "bad status line from \(endpoint)")
            }
            if (100...199).contains(status) { continue }
            var head = Head(status: status, chunked: false, contentLength: nil)
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name == "transfer-encoding", value.lowercased().contains("chunked") { head.chunked = true }
                if name == "content-length" { head.contentLength = Int(value) }
            }
            finished = false
            chunkLeft = nil
            return head
        }
    }

    private func closedEarly() -> EtcdError {
        EtcdError(.unreachable, "\(endpoint) closed the connection mid-response")
    }

    private func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(EtcdError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try Self.wait(fd, for: Int16(POLLOUT), deadline: deadline, endpoint: endpoint)
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                throw Self.systemError("send to \(endpoint)", errno)
            }
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill(deadline: ContinuousClock.Instant) throws(EtcdError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try Self.wait(fd, for: Int16(POLLIN), deadline: deadline, endpoint: endpoint)
            } else if errno != EINTR {
                throw Self.systemError("receive from \(endpoint)", errno)
            }
        }
    }

    private static func wait(
        _ fd: Int32,
        for events: Int16,
        deadline: ContinuousClock.Instant,
        endpoint: EtcdSettings.Endpoint
    ) throws(EtcdError) {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw EtcdError(.timeout, "\(endpoint) did not answer in time") }
            let milliseconds = Int32(
                clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
            )
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, min(milliseconds, 1000))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw systemError("poll \(endpoint)", errno) }
        }
    }

    private static func connect(
        _ endpoint: EtcdSettings.Endpoint,
        deadline: ContinuousClock.Instant
    ) throws(EtcdError)
        -> Int32
    {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard resolved == 0, let list else {
            throw EtcdError(.unreachable, "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = EtcdError(.unreachable, "no address for \(endpoint.host)")
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(
                current.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                0
            )
            if fd < 0 { continue }
            setOptions(fd)
            if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                do throws(EtcdError) {
                    try wait(fd, for: Int16(POLLOUT), deadline: deadline, endpoint: endpoint)
                } catch {
                    Glibc.close(fd)
                    throw error
                }
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
                if failure == 0 { return fd }
                lastError = systemError("connect to \(endpoint)", failure)
            } else {
                lastError = systemError("connect to \(endpoint)", errno)
            }
            Glibc.close(fd)
        }
        throw lastError
    }

    /// TCP_NODELAY, and keepalive probes that notice a dead peer within about 15 s (5 s idle, 5 × 2 s).
    private static func setOptions(_ fd: Int32) {
        func set(_ level: Int32, _ name: Int32, _ value: Int32) {
            var value = value
            _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        set(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        set(SOL_SOCKET, SO_KEEPALIVE, 1)
        set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, 5)
        set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, 2)
        set(Int32(IPPROTO_TCP), TCP_KEEPCNT, 5)
    }

    private static func systemError(_ action: String, _ code: Int32) -> EtcdError {
        EtcdError(.unreachable, "\(action): \(String(cString: strerror(code)))")
    }
}
