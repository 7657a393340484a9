import Foundation
import Glibc
import Synchronization

/// The control-plane HTTP listener: its own thread and I/O executor (the engine the workers use), the
/// gateway's own HTTP parser,
/// never on a worker. Serves small requests one connection at a time per completion; handlers run
/// synchronously on this thread (so a `/metrics` merge and encode never touches a worker).
package final class ControlServer: @unchecked Sendable {
    private let listenFD: Int32
    package let address: SocketAddress
    private let handler: ControlHandler
    private let engine: EngineKind
    private let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var started = false
    /// Signalled by the thread once its executor is set up (or could not be): `start()` waits for it,
    /// so a control plane that cannot run fails the start instead of never answering.
    private let ready = DispatchSemaphore(value: 0)
    private let startFailure = Mutex<EngineError?>(nil)

    /// Largest request (head and body) the control plane accepts.
    package static let maxRequestBytes = 1 << 20

    /// Binds `address`; the thread starts with ``start()``.
    /// Runs its thread at a lower priority than the workers (the Admin API: its writes compile plans).
    private let lowPriority: Bool

    package init(
        address requested: SocketAddress,
        engine: EngineKind,
        lowPriority: Bool = false,
        handler: @escaping ControlHandler
    ) throws(EngineError) {
        self.engine = engine
        self.lowPriority = lowPriority
        listenFD = try Sockets.listen(on: requested, backlog: 128, reusePort: false)
        address = SocketAddress.local(of: listenFD) ?? requested
        self.handler = handler
    }

    package func start() throws(EngineError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                let server = Unmanaged<ControlServer>.fromOpaque(raw!).takeRetainedValue()
                server.loop()
                return nil
            },
            box
        )
        guard created == 0 else {
            Unmanaged<ControlServer>.fromOpaque(box).release()
            throw EngineError(code: .thread, message: "cannot start the control-plane thread")
        }
        started = true
        ready.wait()
        if let failure = startFailure.withLock({ $0 }) {
            stop()
            throw failure
        }
    }

    /// Stops accepting, closes every connection and joins the thread.
    package func stop() {
        stopping.store(true, ordering: .relaxed)
        if started {
            pthread_join(thread, nil)
            started = false
        }
    }

    // MARK: - Loop

    private final class Connection {
        let fd: Int32
        let buffer: UnsafeMutableRawBufferPointer
        var received = 0
        var output: [UInt8] = []
        var sent = 0
        var closeAfter = false
        var peer: SocketAddress?
        init(fd: Int32) {
            self.fd = fd
            buffer = .allocate(byteCount: ControlServer.maxRequestBytes, alignment: 16)
        }
        deinit { buffer.deallocate() }
    }

    private func loop() {
        if lowPriority { ThreadPriority.lowerCurrentThread() }
        // Created on this thread: an io_uring ring set up for a single issuer is used by its creator only.
        let ring: any IOExecutor
        do throws(EngineError) {
            switch engine {
            case .ioUring: ring = try IOUringExecutor(entries: 256, bufferCount: 1, bufferSize: 4096)
            case .epoll: ring = try EpollExecutor(entries: 256, bufferCount: 1, bufferSize: 4096)
            }
        } catch {
            startFailure.withLock {
                $0 = EngineError(
                    code: error.code,
                    message: "control plane on \(address): \(error.message)",
                    errno: error.errno
                )
            }
            ready.signal()
            return
        }
        ready.signal()
        let headers = HTTPHeaderIndex(capacity: 128)
        var connections: [Int32: Connection] = [:]
        let acceptData = UserData.accept
        ring.multishotAccept(fd: listenFD, userData: acceptData)
        while !stopping.load(ordering: .relaxed) {
            ring.submitAndWait(timeoutNanoseconds: 50_000_000)
            var events: [(UInt64, Int32, UInt32)] = []
            ring.drainCompletions { events.append(($0, $1, $2)) }
            for (data, result, flags) in events {
                let kind = UserData.kind(data)
                let fd = Int32(bitPattern: UserData.slot(data))
                switch kind {
                case .accept:
                    if flags & IOCompletion.more == 0 {
                        ring.multishotAccept(fd: listenFD, userData: acceptData)
                    }
                    guard result >= 0 else { continue }
                    let connection = Connection(fd: result)
                    connection.peer = ring.peerAddress(of: result)
                    connections[result] = connection
                    postReceive(ring, connection)
                case .clientReceive:
                    guard let connection = connections[fd] else { continue }
                    guard result > 0 else {
                        close(ring, connection, &connections)
                        continue
                    }
                    connection.received += Int(result)
                    handleInput(ring, connection, headers, &connections)
                case .clientSend:
                    guard let connection = connections[fd] else { continue }
                    guard result > 0 else {
                        close(ring, connection, &connections)
                        continue
                    }
                    connection.sent += Int(result)
                    if connection.sent < connection.output.count {
                        postSend(ring, connection)
                    } else if connection.closeAfter {
                        close(ring, connection, &connections)
                    } else {
                        connection.output = []
                        connection.sent = 0
                        // Pipelined bytes may already hold the next request.
                        if connection.received > 0 {
                            handleInput(ring, connection, headers, &connections)
                        } else {
                            postReceive(ring, connection)
                        }
                    }
                default:
                    continue
                }
            }
        }
        for connection in connections.values { ring.close(fd: connection.fd) }
        ring.close(fd: listenFD)
        ring.submit()
    }

    private func postReceive(_ ring: any IOExecutor, _ connection: Connection) {
        ring.receive(
            fd: connection.fd,
            into: connection.buffer.baseAddress! + connection.received,
            count: connection.buffer.count - connection.received,
            userData: UserData.make(.clientReceive, slot: UInt32(bitPattern: connection.fd), generation: 0)
        )
    }

    private func postSend(_ ring: any IOExecutor, _ connection: Connection) {
        connection.output.withUnsafeBytes { bytes in
            // The array is not mutated until the send completes, so its storage stays put.
            ring.send(
                fd: connection.fd,
                buffer: bytes.baseAddress! + connection.sent,
                count: bytes.count - connection.sent,
                userData: UserData.make(.clientSend, slot: UInt32(bitPattern: connection.fd), generation: 0)
            )
        }
    }

    private func close(_ ring: any IOExecutor, _ connection: Connection, _ connections: inout [Int32: Connection]) {
        connections[connection.fd] = nil
        ring.close(fd: connection.fd)
    }

    private func handleInput(
        _ ring: any IOExecutor,
        _ connection: Connection,
        _ headers: HTTPHeaderIndex,
        _ connections: inout [Int32: Connection]
    ) {
        let view = UnsafeRawBufferPointer(start: connection.buffer.baseAddress, count: connection.received)
        switch HTTPParser.parseRequestHead(view, headers: headers, limits: HTTPLimits()) {
        case .incomplete:
            if connection.received >= connection.buffer.count {
                respond(ring, connection, .error(431, "request too large"), keepAlive: false)
            } else {
                postReceive(ring, connection)
            }
        case .invalid(let error):
            respond(ring, connection, .error(error.status, "\(error.reason.name)"), keepAlive: false)
        case .complete(let head):
            var bodyLength = 0
            switch head.body {
            case .none: bodyLength = 0
            case .contentLength(let length): bodyLength = Int(length)
            case .chunked, .closeDelimited:
                respond(ring, connection, .error(411, "send the body with Content-Length"), keepAlive: false)
                return
            }
            guard head.headLength + bodyLength <= connection.buffer.count else {
                respond(ring, connection, .error(413, "request body too large"), keepAlive: false)
                return
            }
            guard connection.received >= head.headLength + bodyLength else {
                postReceive(ring, connection)
                return
            }
            var fields: [(name: String, value: String)] = []
            for index in 0..<headers.count {
                let name = String(decoding: view[headers.name(index)], as: UTF8.self).lowercased()
                fields.append((name, String(decoding: view[headers.value(index)], as: UTF8.self)))
            }
            let request = ControlRequest(
                method: head.method,
                path: String(decoding: view[head.pathRange], as: UTF8.self),
                query: head.queryRange.map { String(decoding: view[$0], as: UTF8.self) } ?? "",
                headers: fields,
                body: Array(view[head.headLength..<(head.headLength + bodyLength)]),
                peer: connection.peer
            )
            // Keep any pipelined bytes after this request.
            let consumed = head.headLength + bodyLength
            let rest = connection.received - consumed
            if rest > 0 {
                memmove(connection.buffer.baseAddress!, connection.buffer.baseAddress! + consumed, rest)
            }
            connection.received = rest
            respond(ring, connection, handler(request), keepAlive: head.keepAlive, head: head.method == .head)
        }
    }

    private func respond(
        _ ring: any IOExecutor,
        _ connection: Connection,
        _ response: ControlResponse,
        keepAlive: Bool,
        head: Bool = false
    ) {
        var text = "HTTP/1.1 \(response.status) \(HTTPStatusText.reason(response.status))\r\n"
        text += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n"
        for header in response.headers { text += "\(header.name): \(header.value)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" }
        text += "\r\n"
        var output = Array(text.utf8)
        if !head { output.append(contentsOf: response.body) }
        connection.output = output
        connection.sent = 0
        connection.closeAfter = !keepAlive
        postSend(ring, connection)
    }
}
