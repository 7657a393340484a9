import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// upstream.py nodes on fixed loopback ports that a test can kill (SIGKILL) and restart on the same port.
final class UpstreamPool: Sendable {
    let directory: URL
    let ports: [Int]
    private let running: LockedValue<[Int: UpstreamProcess]>
    /// The ports of the dead nodes, held for as long as the pool lives.
    private let dead: [RefusingPort]

    private init(directory: URL, ports: [Int], running: [Int: UpstreamProcess], dead: [RefusingPort]) {
        self.directory = directory
        self.ports = ports
        self.running = LockedValue(running)
        self.dead = dead
    }

    /// Starts one node per entry of `arguments` (extra upstream.py options); indices in `dead` get a port
    /// that refuses connections instead, for the pool's whole life (they cannot be restarted).
    static func start(_ arguments: [[String]], dead: Set<Int> = [], in directory: URL) async throws -> UpstreamPool {
        var ports: [Int] = []
        var running: [Int: UpstreamProcess] = [:]
        var refusing: [RefusingPort] = []
        for (index, options) in arguments.enumerated() {
            if dead.contains(index) {
                let port = try RefusingPort()
                refusing.append(port)
                ports.append(port.port)
            } else {
                let upstream = try await UpstreamProcess.start(in: directory, arguments: options + ["--nodelay"])
                ports.append(upstream.port)
                running[index] = upstream
            }
        }
        return UpstreamPool(directory: directory, ports: ports, running: running, dead: refusing)
    }

    /// `127.0.0.1:PORT` of node `index`, as the gateway names it.
    func address(_ index: Int) -> String { "127.0.0.1:\(ports[index])" }

    func index(ofPort port: Int) -> Int? { ports.firstIndex(of: port) }

    /// SIGKILL node `index` and wait until it has gone.
    func kill(_ index: Int) async {
        guard let upstream = running.withLock({ $0.removeValue(forKey: index) }) else { return }
        upstream.process.signal(SIGKILL)
        await upstream.process.waitForExit(timeout: .seconds(5))
    }

    /// Starts node `index` again on its old port.
    func restart(_ index: Int, arguments: [String] = []) async throws {
        let upstream = try await UpstreamProcess.start(
            in: directory,
            port: ports[index],
            arguments: arguments + ["--nodelay"]
        )
        running.withLock { $0[index] = upstream }
    }

    func stopAll() async {
        for upstream in running.withLock({ Array($0.values) }) {
            await upstream.stop()
        }
        running.withLock { $0.removeAll() }
    }
}

/// A gateway with one upstream `pool` over an ``UpstreamPool``, its control plane, metrics and a JSON access log.
final class ResilientGateway: Sendable {
    let gateway: GatewayProcess
    let accessLogFile: URL

    private init(gateway: GatewayProcess, accessLogFile: URL) {
        self.gateway = gateway
        self.accessLogFile = accessLogFile
    }

    var port: Int { gateway.port }
    var controlPort: Int { gateway.controlPort }
    var directory: URL { gateway.directory }

    /// The config: upstream `pool` over `nodes` with `upstreamKeys` (YAML lines at the key level, unindented),
    /// and one catch-all route to it.
    static func yaml(nodes: [String], upstreamKeys: String, controlPort: Int, accessLog: URL, workers: Int) -> String {
        let nodeMap = nodes.map { "\"\($0)\": 1" }.joined(separator: ", ")
        let keys = upstreamKeys.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return """
            workers: \(workers)
            listen: "127.0.0.1:0"
            control: {listen: "127.0.0.1:\(controlPort)"}
            metrics: {enabled: true, node_labels: true}
            access_log: {enabled: true, path: "\(accessLog.path)", format: json, flush_interval: 0.2}
            upstreams:
              - id: pool
                nodes: {\(nodeMap)}
            \(keys)
            routes:
              - id: api
                uris: ["/*"]
                upstream_id: pool

            """
    }

    /// Starts the gateway and returns once its data plane and control plane accept connections.
    static func start(
        nodes: [String],
        upstreamKeys: String,
        workers: Int = 1,
        in directory: URL
    ) async throws -> ResilientGateway {
        // A fresh access log for every attempt, so a gateway that failed to start leaves nothing in it.
        var accessLog = directory
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            accessLog = directory.appendingPathComponent("access-\(UUID().uuidString.prefix(8)).log.zst")
            return yaml(
                nodes: nodes,
                upstreamKeys: upstreamKeys,
                controlPort: controlPort,
                accessLog: accessLog,
                workers: workers
            )
        }
        return ResilientGateway(gateway: gateway, accessLogFile: accessLog)
    }

    /// One request on a fresh connection to the data plane.
    func get(
        _ target: String,
        method: String = "GET",
        headers: [String] = [],
        body: String = ""
    ) async throws
        -> RawResponse
    {
        try await RawConnection.request(port: port, method: method, target, headers: headers, body: body)
    }

    /// `GET path` on the control plane.
    func control(_ path: String) async throws -> RawResponse {
        try await gateway.control(path, headers: ["Accept: text/plain"])
    }

    /// `/status` nodes of upstream `pool`, by node address.
    func nodeStatus() async throws -> [String: [String: Any]] {
        let json = try await control("/status").jsonObject()
        guard let upstreams = json["upstreams"] as? [[String: Any]],
            let pool = upstreams.first(where: { $0["id"] as? String == "pool" }),
            let nodes = pool["nodes"] as? [[String: Any]]
        else {
            throw IntegrationError("/status has no upstream pool: \(json)")
        }
        var byAddress: [String: [String: Any]] = [:]
        for node in nodes {
            if let address = node["node"] as? String { byAddress[address] = node }
        }
        return byAddress
    }

    func metrics() async throws -> MetricsExposition {
        try await gateway.scrape().exposition
    }

    /// Polls `condition` every 50 ms until it holds (true) or `timeout` passes (false).
    func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        try await eventually(timeout: timeout, interval: .milliseconds(50), condition)
    }

    /// Polls `/status` until node `address` satisfies `condition`; returns the last entry seen and whether it did.
    func waitForNode(
        _ address: String,
        timeout: Duration,
        _ condition: ([String: Any]) -> Bool
    ) async throws -> (held: Bool, node: [String: Any]) {
        var last: [String: Any] = [:]
        let held = try await waitUntil(timeout: timeout) {
            last = try await nodeStatus()[address] ?? [:]
            return condition(last)
        }
        return (held, last)
    }

    /// Access log lines decompressed by the real `zstd -dc`, parsed as JSON objects.
    func accessLog() async throws -> [[String: Any]] {
        try await Command.zstdLines(of: accessLogFile, in: directory).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Lines of the gateway's own log mentioning node `address` entering state `to`.
    func transitionLogLines(_ address: String, to: String) -> [Substring] {
        gateway.log.split(separator: "\n").filter { $0.contains("-> \(to):") && $0.contains(address) }
    }
}

/// Runs `body` with a pool of upstream nodes and a gateway over them; stops both, keeping the files on failure.
func withResilientGateway<T>(
    _ label: String,
    nodes arguments: [[String]],
    dead: Set<Int> = [],
    workers: Int = 1,
    upstreamKeys: String,
    _ body: (ResilientGateway, UpstreamPool) async throws -> T
) async throws -> T {
    let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
    let pool = try await UpstreamPool.start(arguments, dead: dead, in: directory)
    let gateway: ResilientGateway
    do {
        gateway = try await ResilientGateway.start(
            nodes: pool.ports.map { "127.0.0.1:\($0)" },
            upstreamKeys: upstreamKeys,
            workers: workers,
            in: directory
        )
    } catch {
        await pool.stopAll()
        throw error
    }
    return try await IntegrationEnvironment.withTearDown(of: directory) {
        try await body(gateway, pool)
    } tearDown: {
        let clean = await gateway.gateway.finish()
        await pool.stopAll()
        return clean
    }
}

/// Keep-alive clients sending `GET /whoami` in a loop until stopped, counting statuses and answering nodes.
final class WhoamiLoad: Sendable {
    /// Status code counts; 0 counts transport errors (no response).
    let statuses = LockedValue<[Int: Int]>([:])
    /// Answering upstream port counts, from the 200 bodies.
    let answeredBy = LockedValue<[Int: Int]>([:])
    /// When each failed request (status other than 200, or no response) was sent.
    let failedSends = LockedValue<[ContinuousClock.Instant]>([])
    private let stopped = LockedValue(false)
    private let tasks: LockedValue<[Task<Void, Never>]> = LockedValue([])

    /// Pause between one client's requests: a steady stream that leaves the machine to the tests
    /// running beside it.
    private let pause: Duration

    init(gatewayPort: Int, clients: Int, pause: Duration = .zero) {
        self.pause = pause
        for _ in 0..<clients {
            let task = Task { [self] in await self.run(port: gatewayPort) }
            tasks.withLock { $0.append(task) }
        }
    }

    private func run(port: Int) async {
        var connection: RawConnection?
        var sent = ContinuousClock.now
        while !stopped.value {
            do {
                sent = ContinuousClock.now
                if connection == nil { connection = try RawConnection(port: port) }
                try await connection!.send("GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try await connection!.readResponse(timeout: .seconds(10))
                statuses.withLock { $0[response.status, default: 0] += 1 }
                if response.status != 200 { failedSends.withLock { $0.append(sent) } }
                if response.status == 200, let answered = try? response.jsonObject()["port"] as? Int {
                    answeredBy.withLock { $0[answered, default: 0] += 1 }
                }
                if response.header("Connection")?.lowercased() == "close" { connection = nil }
                if pause > .zero { try? await Task.sleep(for: pause) }
            } catch {
                statuses.withLock { $0[0, default: 0] += 1 }
                failedSends.withLock { $0.append(sent) }
                connection = nil
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    var total: Int { statuses.value.values.reduce(0, +) }
    var failures: Int { statuses.value.filter { $0.key != 200 }.values.reduce(0, +) }

    /// Runs until `count` more requests have completed (or `timeout` passes).
    func waitFor(moreRequests count: Int, timeout: Duration = .seconds(20)) async {
        let target = total + count
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while total < target, clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    func stop() async {
        stopped.withLock { $0 = true }
        for task in tasks.value { await task.value }
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `transitions[to]` of a `/status` node entry (0 when absent).
    func transitions(_ to: String) -> Int { (self["transitions"] as? [String: Any])?[to] as? Int ?? 0 }

    var isAvailable: Bool { self["available"] as? Bool == true }
    var circuit: String { self["circuit"] as? String ?? "?" }
    var reason: String { self["last_transition_reason"] as? String ?? "" }
}
