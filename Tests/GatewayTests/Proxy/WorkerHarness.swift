import Foundation
import Testing

@testable import Gateway

/// A real ``Worker`` over a ``ScriptedExecutor`` and a manual clock: connection logic driven by
/// scripted events, no sockets, no sleeps.
final class WorkerHarness {
    static let listener: Int32 = 900
    static let second: UInt64 = 1_000_000_000

    let executor: ScriptedExecutor
    let worker: Worker<ScriptedExecutor>
    let observability: GatewayObservability
    let control: WorkerControl
    let health: NodeHealthBoard
    private(set) var now: UInt64 = 1_000 * WorkerHarness.second

    /// Limits: header 1 s, body 3 s, send 4 s, keep-alive 5 s. Upstream `backend` (one node): connect
    /// 1 s, send 2 s, read 3 s, pool idle 6 s. Routes: `/__demo` (mocking), `/small` (4-byte bodies),
    /// everything else to `backend`.
    static let yaml = """
        workers: 1
        listen: "127.0.0.1:0"
        limits: {header_timeout: 1, keepalive_timeout: 5, body_timeout: 3, send_timeout: 4}
        upstreams:
          - id: backend
            nodes: {"127.0.0.1:9": 1}
            timeout: {connect: 1, send: 2, read: 3}
            keepalive_pool: {size: 4, idle_timeout: 6, requests: 100}
        routes:
          - id: demo
            uri: /__demo
            plugins: {mocking: {response_status: 200, response_example: 'hi', content_type: text/plain}}
          - id: small
            uri: /small
            upstream_id: backend
            client_max_body_size: 4
          - id: api
            uris: ["/*"]
            upstream_id: backend
        """

    init(yaml: String = WorkerHarness.yaml, buffers: Int = 16) throws {
        let plan = try ProxyPlan(config: ConfigLoader.parse(yaml: yaml, sourceName: "harness"))
        observability = try GatewayObservability(plan: plan, engine: .epoll, accessLog: false)
        control = WorkerControl(workerCount: 1)
        health = NodeHealthBoard(nodeCount: plan.nodeCount, workerCount: 1, upstreamCount: plan.upstreamCount)
        executor = ScriptedExecutor(entries: 64, bufferCount: buffers, bufferSize: 16384)
        worker = try Worker(
            index: 0,
            plan: plan,
            control: control,
            observability: observability,
            health: health,
            listeners: [Self.listener],
            executor: executor,
            now: now
        )
        worker.start()
    }

    /// One loop turn after `seconds` have passed.
    func turn(after seconds: Double = 0) {
        now += UInt64(seconds * Double(Self.second))
        worker.turn(now: now)
    }

    /// Lets time pass in 10 ms turns, so deadlines fire when they are due and not all at once.
    func wait(_ seconds: Double) {
        let steps = Int((seconds * 100).rounded())
        for _ in 0..<steps { turn(after: 0.01) }
    }

    func connectClient() -> Int32 {
        let fd = executor.acceptClient(on: Self.listener)
        turn()
        return fd
    }

    func clientSends(_ text: String, on fd: Int32) {
        executor.deliver(text, to: fd)
        turn()
    }

    /// The last upstream socket the worker opened; completes its connect.
    func upstreamConnects() throws -> Int32 {
        let fd = try #require(executor.opened.last, "no upstream socket opened")
        executor.completeConnect(fd)
        turn()
        return fd
    }

    /// Completes the send posted on `fd` and returns what it carried.
    @discardableResult
    func sent(on fd: Int32, count: Int? = nil) throws -> String {
        try #require(executor.sends[fd] != nil, "nothing being sent on \(fd)")
        let bytes = executor.completeSend(fd, count: count)
        turn()
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of a series in the worker's metrics; `labels` as exposed (in the family's label order).
    /// A series that does not exist is a test error, not a zero, so a misspelt lookup cannot pass.
    func counter(_ name: String, _ labels: String) -> Double {
        let text = String(decoding: observability.registry.render(.text), as: UTF8.self)
        let prefix = "\(name){\(labels)} "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count)) ?? 0
        }
        Issue.record(
            "no series \(prefix)in:\n\(text.split(separator: "\n").filter { $0.hasPrefix(name) }.joined(separator: "\n"))"
        )
        return -1
    }

    func timeouts(_ kind: String) -> Double { counter("gateway_timeouts_total", "kind=\"\(kind)\"") }

    static let okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
}
