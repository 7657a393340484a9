import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A gateway process whose resources live in etcd (`config.store: etcd`), with its control plane and,
/// optionally, its Admin API.
struct EtcdGateway {
    static let adminKey = "edd1c9f034335f136f87ad84b625c8f1"

    let process: GatewayProcess
    /// The Admin API's port (0 when it is off).
    let adminPort: Int

    var port: Int { process.port }

    /// The configuration: one worker, etcd at `endpoints`, its cache at `cachePath`, no file routes but
    /// `/file` (mocked), so the file and etcd resources can be told apart.
    static func yaml(controlPort: Int, adminPort: Int?, endpoints: [String], cachePath: String) -> String {
        var text = """
            workers: 1
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            config: {store: etcd, watch: false}
            etcd:
              endpoints: [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))]
              timeout: 2
              cache_path: "\(cachePath)"
            routes:
              - id: file-route
                uri: /file
                plugins: {mocking: {response_status: 200, response_example: "from the file"}}

            """
        if let adminPort {
            text += """
                admin:
                  listen: "127.0.0.1:\(adminPort)"
                  keys: [{key: "\(adminKey)", role: admin}]

                """
        }
        return text
    }

    /// Starts a gateway on etcd at `endpoints` and waits until it serves.
    static func start(
        in directory: URL,
        endpoints: [String],
        cachePath: String? = nil,
        admin: Bool = false
    ) async throws -> EtcdGateway {
        var adminPort = 0
        let cache = cachePath ?? directory.appendingPathComponent("cache-\(UUID().uuidString.prefix(8)).json").path
        let process = try await GatewayProcess.start(in: directory) { controlPort in
            adminPort = admin ? ((try? Loopback.unusedPort()) ?? 0) : 0
            return yaml(
                controlPort: controlPort,
                adminPort: admin ? adminPort : nil,
                endpoints: endpoints,
                cachePath: cache
            )
        }
        return EtcdGateway(process: process, adminPort: adminPort)
    }

    /// The status of `GET path` (with `host`), 0 when the request failed.
    func status(_ path: String, host: String? = nil) async -> Int {
        let headers = host.map { ["Host: \($0)"] } ?? []
        let response = try? await RawConnection.request(port: port, path, headers: headers, timeout: .seconds(5))
        return response?.status ?? 0
    }

    /// Polls until `GET path` answers `expected`; returns whether it did within `timeout`.
    func waitFor(_ path: String, status expected: Int = 200, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout, interval: .milliseconds(10)) { await status(path) == expected }
    }

    /// A sample of one `gateway_config_store_*` metric (nil when absent).
    func metric(_ name: String, _ labels: [String: String] = [:]) async throws -> Double? {
        try await process.scrape().exposition.value(name, labels)
    }

    /// `/status`'s `config_store` object.
    func storeStatus() async throws -> [String: Any] {
        let response = try await process.control("/status")
        let body = try response.jsonObject()
        guard let store = body["config_store"] as? [String: Any] else {
            throw IntegrationError("/status has no config_store: \(response.bodyString)")
        }
        return store
    }

    /// The keys of `config_store.rejected` in `/status`, with their reasons.
    func rejected() async throws -> [String: String] {
        let list = try await storeStatus()["rejected"] as? [[String: Any]] ?? []
        var result: [String: String] = [:]
        for entry in list {
            if let key = entry["key"] as? String { result[key] = entry["reason"] as? String ?? "" }
        }
        return result
    }

    /// An Admin API request with the admin key.
    func admin(_ method: String, _ path: String, _ body: String? = nil, in directory: URL) async throws -> CurlResult {
        var arguments = ["-X", method, "-H", "X-API-KEY: \(Self.adminKey)"]
        if let body { arguments += ["-d", body] }
        return try await Curl.run("http://127.0.0.1:\(adminPort)/apisix/admin\(path)", arguments, in: directory)
    }
}

/// A route in APISIX's own format, as its Admin API writes it into etcd.
func apisixRoute(id: String, uri: String, upstreamPort: Int, plugins: String? = nil) -> String {
    let plugins = plugins.map { #","plugins":\#($0)"# } ?? ""
    return #"""
        {"id":"\#(id)","uri":"\#(uri)","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:\#(upstreamPort)":1},"hash_on":"vars","scheme":"http","pass_host":"pass"},"create_time":1700000000,"update_time":1700000000,"status":1,"priority":0\#(plugins)}
        """#
}

/// `Tests/Support/etcd_relay.py`: a TCP relay to etcd that a test cuts (SIGUSR1), freezes (SIGWINCH) and
/// restores (SIGUSR2).
final class EtcdRelay: Sendable {
    let process: ManagedProcess
    let port: Int
    /// Exists while the relay holds the connections it froze.
    let frozenFile: URL

    private init(process: ManagedProcess, port: Int, frozenFile: URL) {
        self.process = process
        self.port = port
        self.frozenFile = frozenFile
    }

    static func start(to target: String, in directory: URL) async throws -> EtcdRelay {
        let portFile = directory.appendingPathComponent("relay-\(UUID().uuidString.prefix(8)).port")
        let script = IntegrationEnvironment.upstreamScript.deletingLastPathComponent()
            .appendingPathComponent("etcd_relay.py")
        let (process, port) = try await ManagedProcess.launch(
            "etcd_relay.py",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: ["python3", script.path, "--target", target, "--port-file", portFile.path],
            logFile: directory.appendingPathComponent("relay.log")
        ) { () -> Int? in
            (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        return EtcdRelay(process: process, port: port, frozenFile: URL(fileURLWithPath: portFile.path + ".frozen"))
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    func cut() { process.signal(SIGUSR1) }

    /// Holds the bytes of the connections open now (the gateway's watch) until ``restore()``; new
    /// connections (each KV request) relay as usual. Returns once the relay says it holds them.
    func freeze() async throws {
        process.signal(SIGWINCH)
        let held = try await eventually(timeout: .seconds(10)) {
            FileManager.default.fileExists(atPath: frozenFile.path)
        }
        guard held else { throw IntegrationError("etcd_relay.py did not confirm the freeze") }
    }

    func restore() { process.signal(SIGUSR2) }

    func stop() async { await process.terminate(grace: .seconds(2)) }
}
