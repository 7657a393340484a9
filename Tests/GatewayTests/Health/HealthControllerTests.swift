import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Gateway

/// Collects log messages so tests can check each transition is logged once.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    func handler(label: String) -> some LogHandler { Handler(sink: self) }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let reason = event.metadata?["reason"].map { " reason=\($0)" } ?? ""
            let node = event.metadata?["node"].map { " node=\($0)" } ?? ""
            sink.lines.withLock { $0.append("\(event.level) \(event.message)\(node)\(reason)") }
        }
    }
}

@Suite(.serialized) struct HealthControllerTests {
    /// Polls `condition` every 20 ms for up to `seconds`.
    /// 30 s by default: these conditions always come true, and on a loaded machine the controller thread
    /// once took more than 10 s to get there.
    static func eventually(_ seconds: Double = 30, _ condition: () -> Bool) async throws -> Bool {
        try await TestSupport.eventually(timeout: .seconds(seconds), condition)
    }

    static func node(_ upstream: Int, _ index: Int, board: Int, port: Int) -> MonitoredNode {
        MonitoredNode(
            upstreamIndex: upstream,
            nodeIndex: index,
            boardIndex: board,
            label: "127.0.0.1:\(port)",
            address: SocketAddress(host: "127.0.0.1", port: UInt16(port))!,
            hostHeader: "127.0.0.1:\(port)"
        )
    }

    static func activeCheck(path: String) -> HealthChecksConfig {
        var active = ActiveHealthCheck()
        active.httpPath = path
        // Generous: a probe of a live upstream that times out on a loaded machine is a failure the tests do not
        // expect (0.8 s once ran out). Refused connects and error statuses fail at once whatever the timeout.
        active.timeout = .seconds(5)
        active.healthy.interval = .milliseconds(100)
        active.unhealthy.interval = .milliseconds(100)
        active.unhealthy.httpFailures = 2
        return HealthChecksConfig(active: active)
    }

    /// Restarts an upstream on its old port. Another test's connection may hold that port as its source port
    /// for a moment, so binding is retried until a deadline.
    private static func restart(in directory: URL, port: Int) async throws -> UpstreamProcess {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do {
                return try await UpstreamProcess.start(in: directory, port: port)
            } catch  where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    @Test func activeChecksFollowAKilledAndRestartedNode() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("health-active")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Port 0: a port picked here and released could be taken (by any connection's source port) before
        // upstream.py binds it.
        var upstream = try await UpstreamProcess.start(in: directory)
        let port = upstream.port
        let board = NodeHealthBoard(nodeCount: 2, workerCount: 1)
        let controller = HealthController(
            upstreams: [
                MonitoredUpstream(id: "ok", checks: Self.activeCheck(path: "/status/200"), circuitBreaker: .init()),
                MonitoredUpstream(id: "broken", checks: Self.activeCheck(path: "/status/503"), circuitBreaker: .init()),
            ],
            nodes: [Self.node(0, 0, board: 0, port: port), Self.node(1, 0, board: 1, port: port)],
            board: board
        )
        controller.start()
        defer { controller.stop() }

        // A node answering with an unhealthy status goes out; the healthy one stays in.
        #expect(try await Self.eventually { board.availability(node: 1).0 == .unhealthy })
        let broken = controller.snapshot()[1]
        #expect(!broken.healthy && broken.lastTransitionReason == "active: 2 consecutive failure statuses")
        #expect(broken.transitions == ["unhealthy": 1] && broken.generation == 1)
        #expect(try await Self.eventually { controller.snapshot()[0].activeChecks >= 3 })
        #expect(board.availability(node: 0).0 == .available && controller.snapshot()[0].activeCheckFailures == 0)

        await upstream.stop()
        #expect(try await Self.eventually { board.availability(node: 0).0 == .unhealthy })
        let down = controller.snapshot()[0]
        #expect(!down.healthy && down.circuit == .closed && down.availability == .unhealthy)
        #expect(down.lastTransitionReason == "active: 2 consecutive connect failures")
        #expect(down.activeCheckFailures >= 2 && down.transitions == ["unhealthy": 1])
        let (_, generation) = board.availability(node: 0)

        upstream = try await Self.restart(in: directory, port: port)
        #expect(try await Self.eventually { board.availability(node: 0).0 == .available })
        let back = controller.snapshot()[0]
        #expect(back.healthy && back.lastTransitionReason == "active: 2 consecutive successful probes")
        #expect(back.transitions == ["unhealthy": 1, "available": 1])
        #expect(board.availability(node: 0).1 == generation + 1)
        await upstream.stop()
    }

    @Test func aSilentNodeDoesNotDelayTheOthersProbes() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("health-silent")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let port = upstream.port
        // Listens (so connects succeed through the backlog) but never answers.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Loopback.address(port: 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(silent, 16)
        defer { close(silent) }
        let silentPort = Int(SocketAddress.local(of: silent)!.port)
        var checks = Self.activeCheck(path: "/status/200")
        checks.active?.timeout = .seconds(2)
        checks.active?.unhealthy.timeouts = 1
        let board = NodeHealthBoard(nodeCount: 2, workerCount: 1)
        let controller = HealthController(
            upstreams: [MonitoredUpstream(id: "mixed", checks: checks, circuitBreaker: .init())],
            nodes: [Self.node(0, 0, board: 0, port: silentPort), Self.node(0, 1, board: 1, port: port)],
            board: board
        )
        let started = ContinuousClock.now
        controller.start()
        defer { controller.stop() }
        #expect(try await Self.eventually { controller.snapshot()[0].activeChecks >= 1 })
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(2))
        // While the silent node's first probe waited for its 2 s timeout, the other was probed every 100 ms.
        #expect(controller.snapshot()[1].activeChecks >= 10)
        #expect(controller.snapshot()[0].lastTransitionReason == "active: 1 consecutive timeouts")
        await upstream.stop()
    }

    @Test func passiveOutcomesFromWorkersArePublishedAndRecover() async throws {
        let logs = CapturedLogs()
        var checks = HealthChecksConfig(passive: PassiveHealthCheck())
        checks.passive?.healthy.successes = 3
        var breaker = CircuitBreakerConfig()
        breaker.baseEjectionTime = .milliseconds(300)
        breaker.jitter = 0
        let board = NodeHealthBoard(nodeCount: 3, workerCount: 2)
        let controller = HealthController(
            upstreams: [MonitoredUpstream(id: "api", checks: checks, circuitBreaker: breaker)],
            nodes: (0..<3).map { Self.node(0, $0, board: $0, port: 9001 + $0) },
            board: board,
            logger: Logger(label: "gateway.health") { logs.handler(label: $0) }
        )
        controller.start()
        defer { controller.stop() }

        // Two workers each see one connect failure to node 1: passive tcp_failures (2) is reached.
        board.record(worker: 0, node: 1, outcome: .connectFailure)
        board.record(worker: 1, node: 1, outcome: .connectFailure)
        #expect(try await Self.eventually { board.availability(node: 1).0 == .unhealthy })
        // A second failing node would exceed max_ejection_percent (50% of 3 = 1): it stays in service.
        board.record(worker: 0, node: 2, outcome: .timeout)
        for _ in 0..<7 { board.record(worker: 1, node: 2, outcome: .timeout) }
        #expect(try await Self.eventually { controller.snapshot()[2].lastTransitionReason.contains("ejection capped") })
        #expect(board.availability(node: 2).0 == .available)

        // Passive checks only: after the ejection time the node is on probation and real traffic probes it.
        #expect(try await Self.eventually { board.availability(node: 1).0 == .halfOpen })
        for expected in 1...2 {
            let generation = board.availability(node: 1).1
            board.record(worker: expected % 2, node: 1, outcome: .success)
            #expect(try await Self.eventually { board.availability(node: 1).1 == generation + 1 })
            #expect(board.availability(node: 1).0 == .halfOpen)
        }
        board.record(worker: 0, node: 1, outcome: .success)
        #expect(try await Self.eventually { board.availability(node: 1).0 == .available })
        let node = controller.snapshot()[1]
        #expect(node.healthy && node.lastTransitionReason == "passive: 3 consecutive successes")
        #expect(node.transitions == ["unhealthy": 1, "half_open": 1, "available": 1])
        #expect(node.recent.connectFailures == 2 && node.recent.successes == 3)

        // Node 1 is back, so node 2 can now be ejected on its next failure.
        board.record(worker: 0, node: 2, outcome: .timeout)
        #expect(try await Self.eventually { board.availability(node: 2).0 != .available })

        let lines = logs.lines.withLock { $0 }
        #expect(lines.filter { $0.contains("available -> unhealthy") && $0.contains("127.0.0.1:9002") }.count == 1)
        #expect(lines.filter { $0.contains("ejection capped") }.count == 1, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("info") && $0.contains("half_open -> available") })
    }

    @Test func panicIsEnteredBelowTheThresholdAndLeftOnceEnoughNodesReturn() async throws {
        let logs = CapturedLogs()
        var breaker = CircuitBreakerConfig()
        breaker.consecutiveFailures = 1
        breaker.baseEjectionTime = .milliseconds(400)
        breaker.maxEjectionPercent = 100
        breaker.jitter = 0
        let board = NodeHealthBoard(nodeCount: 3, workerCount: 1, upstreamCount: 1)
        let controller = HealthController(
            upstreams: [MonitoredUpstream(id: "api", checks: nil, circuitBreaker: breaker, panicThreshold: 50)],
            nodes: (0..<3).map { Self.node(0, $0, board: $0, port: 9001 + $0) },
            board: board,
            logger: Logger(label: "gateway.health") { logs.handler(label: $0) }
        )
        controller.start()
        defer { controller.stop() }

        // One of three out: 67% available, not in panic.
        board.record(worker: 0, node: 0, outcome: .connectFailure)
        #expect(try await Self.eventually { board.availability(node: 0).0 == .open })
        #expect(!board.inPanic(upstream: 0))
        // Two of three out: 33% < 50%: panic.
        board.record(worker: 0, node: 1, outcome: .connectFailure)
        #expect(try await Self.eventually { board.inPanic(upstream: 0) })
        #expect(controller.panics() == [true])
        // The circuits go half-open after the ejection time; successes close them and panic ends.
        #expect(try await Self.eventually { board.availability(node: 1).0 == .halfOpen })
        board.record(worker: 0, node: 0, outcome: .success)
        board.record(worker: 0, node: 1, outcome: .success)
        #expect(try await Self.eventually { !board.inPanic(upstream: 0) })
        #expect(controller.panics() == [false])

        let lines = logs.lines.withLock { $0 }
        let entered = lines.filter { $0.contains("upstream entered panic") }
        let left = lines.filter { $0.contains("upstream left panic") }
        #expect(entered.count == 1, "\(lines)")
        #expect(entered.first?.contains("1 of 3 nodes available (33%), under panic_threshold 50%") == true)
        #expect(left.count == 1, "\(lines)")
    }

    @Test func panicThresholdZeroNeverPanics() async throws {
        var breaker = CircuitBreakerConfig()
        breaker.consecutiveFailures = 1
        breaker.maxEjectionPercent = 100
        let board = NodeHealthBoard(nodeCount: 1, workerCount: 1, upstreamCount: 1)
        let controller = HealthController(
            upstreams: [MonitoredUpstream(id: "api", checks: nil, circuitBreaker: breaker, panicThreshold: 0)],
            nodes: [Self.node(0, 0, board: 0, port: 9001)],
            board: board
        )
        controller.start()
        defer { controller.stop() }
        board.record(worker: 0, node: 0, outcome: .connectFailure)
        #expect(try await Self.eventually { board.availability(node: 0).0 == .open })
        // A full controller step after the transition: still no panic.
        let generation = board.availability(node: 0).1
        #expect(try await Self.eventually { controller.snapshot()[0].generation == generation })
        #expect(!board.inPanic(upstream: 0))
        #expect(controller.panics() == [false])
    }
}
