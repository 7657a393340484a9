import CLiburing
import Glibc

/// Runs active health probes over non-blocking sockets, all in flight at once, polled together.
///
/// One slow or silent node only holds its own socket until its timeout; the others complete as
/// soon as they answer. Thread-confined: the health controller's thread owns it.
package struct ActiveProber: ~Copyable {
    /// One completed probe.
    package struct Completion: Sendable, Equatable {
        /// The caller's id for the probed node.
        package var node: Int
        package var result: ActiveProbeResult
    }

    private enum Phase {
        case connecting
        case sending
        case reading
    }

    private struct Probe {
        var node: Int
        var fd: Int32
        var phase: Phase
        var deadline: ContinuousClock.Instant
        var tcpOnly: Bool
        var request: [UInt8]
        var sent = 0
        var response: [UInt8] = []
        var healthyStatuses: [Int]
        var unhealthyStatuses: [Int]
    }

    private var probes: [Probe] = []

    package init() {}

    deinit {
        for probe in probes { close(probe.fd) }
    }

    /// Probes in flight.
    package var inFlight: Int { probes.count }

    package func isProbing(node: Int) -> Bool {
        probes.contains { $0.node == node }
    }

    /// Starts probing `address` as `check` says; a probe that fails at once completes on the next ``poll(until:)``.
    package mutating func start(
        node: Int,
        address: SocketAddress,
        check: ActiveHealthCheck,
        hostHeader: String,
        now: ContinuousClock.Instant
    ) {
        var target = address
        if let port = check.port, let overridden = SocketAddress(host: address.hostString, port: port) {
            target = overridden
        }
        let request = Array(
            "GET \(check.httpPath) HTTP/1.1\r\nHost: \(check.host ?? hostHeader)\r\nUser-Agent: gateway-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                .utf8
        )
        var probe = Probe(
            node: node,
            fd: -1,
            phase: .connecting,
            deadline: now + check.timeout,
            tcpOnly: check.type == .tcp,
            request: request,
            healthyStatuses: check.healthy.httpStatuses,
            unhealthyStatuses: check.unhealthy.httpStatuses
        )
        let fd = socket(
            target.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        probe.fd = fd
        if fd >= 0 {
            let result = target.withSockAddr { connect(fd, $0, $1) }
            if result != 0 && errno != EINPROGRESS {
                close(fd)
                probe.fd = -1
            }
        }
        probes.append(probe)
    }

    /// Waits for probe progress until `deadline` (at least one poll), and returns the probes that completed.
    package mutating func poll(until deadline: ContinuousClock.Instant) -> [Completion] {
        var completions: [Completion] = []
        // Probes whose socket or connect failed at once.
        probes.removeAll { probe in
            guard probe.fd < 0 else { return false }
            completions.append(Completion(node: probe.node, result: .tcpFailure))
            return true
        }
        let now = ContinuousClock.now
        let wakeAt = probes.reduce(deadline) { min($0, $1.deadline) }
        let milliseconds = max(0, Int32(clamping: Int64(((wakeAt - now) / .milliseconds(1)).rounded(.up))))
        var fds = probes.map { probe in
            pollfd(fd: probe.fd, events: Int16(probe.phase == .reading ? POLLIN : POLLOUT), revents: 0)
        }
        let ready = fds.isEmpty ? Glibc.poll(nil, 0, milliseconds) : Glibc.poll(&fds, nfds_t(fds.count), milliseconds)
        if ready > 0 {
            for index in fds.indices where fds[index].revents != 0 {
                if let result = Self.advance(&probes[index]) {
                    completions.append(Completion(node: probes[index].node, result: result))
                    close(probes[index].fd)
                    probes[index].fd = -1
                }
            }
        }
        let after = ContinuousClock.now
        for index in probes.indices where probes[index].fd >= 0 && after >= probes[index].deadline {
            completions.append(Completion(node: probes[index].node, result: .timeout))
            close(probes[index].fd)
            probes[index].fd = -1
        }
        probes.removeAll { $0.fd < 0 }
        return completions
    }

    /// Moves one probe forward after poll said its socket is ready; returns its result when done.
    private static func advance(_ probe: inout Probe) -> ActiveProbeResult? {
        switch probe.phase {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(probe.fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
                return .tcpFailure
            }
            if probe.tcpOnly { return .success }
            probe.phase = .sending
            return send(&probe)
        case .sending:
            return send(&probe)
        case .reading:
            var buffer = [UInt8](repeating: 0, count: 1024)
            let count = buffer.withUnsafeMutableBytes { recv(probe.fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { return errno == EAGAIN || errno == EINTR ? nil : .tcpFailure }
            if count == 0 { return Self.status(probe.response).map { classify($0, probe) } ?? .tcpFailure }
            probe.response.append(contentsOf: buffer[0..<count])
            if let status = Self.status(probe.response) { return classify(status, probe) }
            if probe.response.count > 8192 { return .httpFailure(status: 0) }
            return nil
        }
    }

    private static func send(_ probe: inout Probe) -> ActiveProbeResult? {
        let count = probe.request.withUnsafeBytes { raw in
            Glibc.send(probe.fd, raw.baseAddress! + probe.sent, raw.count - probe.sent, Int32(MSG_NOSIGNAL))
        }
        if count < 0 { return errno == EAGAIN || errno == EINTR ? nil : .tcpFailure }
        probe.sent += count
        if probe.sent == probe.request.count { probe.phase = .reading }
        return nil
    }

    private static func classify(_ status: Int, _ probe: Probe) -> ActiveProbeResult {
        if probe.healthyStatuses.contains(status) { return .success }
        if probe.unhealthyStatuses.contains(status) { return .httpFailure(status: status) }
        return status == 0 ? .httpFailure(status: 0) : .ignored(status: status)
    }

    /// The status of a complete status line ("HTTP/1.1 200 OK\r\n"); 0 when the line is not HTTP.
    static func status(_ bytes: [UInt8]) -> Int? {
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = bytes[..<end]
        guard line.count >= 12, line.starts(with: Array("HTTP/1.".utf8)), line[line.startIndex + 8] == UInt8(ascii: " ")
        else { return 0 }
        let digits = line[(line.startIndex + 9)..<(line.startIndex + 12)]
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return 0 }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
