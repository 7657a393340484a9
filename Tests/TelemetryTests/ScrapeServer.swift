import Foundation
import Synchronization
import Telemetry
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 that serves a registry at any path, one connection at a
/// time, on its own thread: enough for Prometheus to scrape in a test.
final class ScrapeServer: Sendable {
    let port: UInt16
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    /// The Accept headers seen, to check what Prometheus asked for.
    let acceptHeaders = Mutex<[String]>([])

    init(registry: MetricRegistry) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Loopback.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.listener = descriptor
        self.port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in self.serve(registry) }
        thread.start()
    }

    func stop() {
        self.stopped.store(true, ordering: .releasing)
        shutdown(self.listener, Int32(SHUT_RDWR))
        close(self.listener)
    }

    private func serve(_ registry: MetricRegistry) {
        while !self.stopped.load(ordering: .acquiring) {
            let connection = accept(self.listener, nil, nil)
            guard connection >= 0 else { continue }
            self.handle(connection, registry)
            close(connection)
        }
    }

    private func handle(_ connection: Int32, _ registry: MetricRegistry) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.ends(with: [13, 10, 13, 10]) {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            request += buffer[0..<count]
        }
        var headers: [String: String] = [:]
        for line in String(decoding: request, as: UTF8.self).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        if let accept = headers["accept"] {
            self.acceptHeaders.withLock { $0.append(accept) }
        }
        let response = registry.render(accept: headers["accept"], acceptEncoding: headers["accept-encoding"])
        var head = "HTTP/1.1 200 OK\r\nContent-Type: \(response.contentType)\r\n"
        if let encoding = response.contentEncoding {
            head += "Content-Encoding: \(encoding)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + response.body
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { return }
            sent += count
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        self.count >= suffix.count && Array(self[(self.count - suffix.count)...]) == suffix
    }
}
