import Foundation
import TestSupport
import Testing

/// The built gateway configured from its command line and environment: the zero-file quick start, `${VAR}`
/// substitution and `GATEWAY_*` overrides, with curl through it to a real upstream.
@Suite("Integration: environment and quick start")
struct EnvironmentIntegrationTests {
    @Test("gateway run --listen --upstream --control proxies every path without a file")
    func quickStart() async throws {
        try await withUpstream("quickstart") { upstream, directory in
            let gateway = try await LaunchedGateway.start(
                [
                    "run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)", "--control",
                    "127.0.0.1:0",
                ],
                environment: ["GATEWAY_WORKERS": "2"],
                in: directory
            )
            try await gateway.whileRunning {
                let echoed = try await Curl.run(
                    "http://127.0.0.1:\(gateway.port)/any/path/echo",
                    ["--data-binary", "quick start"],
                    in: directory
                )
                #expect(echoed.exitCode == 0)
                #expect(echoed.status == 200)
                let root = try await Curl.run("http://127.0.0.1:\(gateway.port)/status/204", in: directory)
                #expect(root.status == 204)
                let counts = try await upstream.counts()
                #expect(counts.requests == 2)
                #expect(gateway.log.contains("with 2 workers"))
                #expect(gateway.log.contains("config command line (--listen 127.0.0.1:0 --upstream 127.0.0.1:"))
                let control = try #require(gateway.controlPort, "no control plane line in:\n\(gateway.log)")
                let metrics = try await Curl.run("http://127.0.0.1:\(control)/metrics", in: directory)
                #expect(metrics.status == 200)
                #expect(metrics.bodyString.contains("route=\"quickstart\""))
            }
        }
    }

    @Test("${VAR} in the file and GATEWAY_* variables decide what the gateway serves, and check shows them")
    func substitutionAndOverrides() async throws {
        try await withUpstream("environment") { upstream, directory in
            let file = directory.appendingPathComponent("gateway.yaml")
            let yaml = IntegrationEnvironment.withTestEngine(
                """
                workers: 1
                listen: "127.0.0.1:1"               # replaced by GATEWAY_LISTEN
                upstreams:
                  - id: backend
                    nodes: [{host: "${BACKEND_HOST:-127.0.0.1}", port: ${BACKEND_PORT}, weight: 1}]
                routes:
                  - {id: api, uri: "${API_PREFIX}/*", upstream_id: backend}
                """
            )
            try yaml.writeTestFile(to: file)
            let environment = [
                "BACKEND_PORT": String(upstream.port), "API_PREFIX": "/api", "GATEWAY_LISTEN": "127.0.0.1:0",
                "GATEWAY_LOG_LEVEL": "warning",
            ]
            let check = try await Command.run(
                "env",
                LaunchedGateway.environmentArguments(environment) + [
                    IntegrationEnvironment.gatewayBinary.path, "check", "--config", file.path,
                ],
                in: directory
            )
            #expect(check.exitCode == 0, "\(check.log)")
            let lines = check.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            #expect(lines.contains("workers 1 file"))
            #expect(lines.contains("listen 127.0.0.1:0 env GATEWAY_LISTEN"))
            #expect(lines.contains("log_level warning env GATEWAY_LOG_LEVEL"))
            #expect(lines.contains("admin.listen off default"))

            let gateway = try await LaunchedGateway.start(
                ["run", "--config", file.path],
                environment: environment,
                in: directory,
                // At warning level the gateway logs no "listening on" line: find its port from its sockets.
                readiness: .socket
            )
            try await gateway.whileRunning {
                let proxied = try await Curl.run("http://127.0.0.1:\(gateway.port)/api/echo", in: directory)
                #expect(proxied.status == 200)
                let outside = try await Curl.run("http://127.0.0.1:\(gateway.port)/echo", in: directory)
                #expect(outside.status == 404)
                #expect(!gateway.log.contains(" info "), "info lines at log_level warning:\n\(gateway.log)")
            }

            var unset = environment
            unset["BACKEND_PORT"] = nil
            let failed = try await Command.run(
                "env",
                LaunchedGateway.environmentArguments(unset) + [
                    IntegrationEnvironment.gatewayBinary.path, "run", "--config", file.path,
                ],
                in: directory
            )
            #expect(failed.exitCode == 1)
            #expect(
                failed.log.contains("upstreams[0].nodes[0].port: environment variable BACKEND_PORT is not set"),
                "\(failed.log)"
            )
        }
    }

    @Test("a bad GATEWAY_* value and --config with --upstream are refused with the culprit named")
    func refusals() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("env-refusals")
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = IntegrationEnvironment.gatewayBinary.path
        let bad = try await Command.run(
            "env",
            LaunchedGateway.environmentArguments(["GATEWAY_WORKERS": "lots"]) + [
                binary, "run", "--upstream", "127.0.0.1:9",
            ],
            in: directory
        )
        #expect(bad.exitCode == 1)
        #expect(bad.log.contains("GATEWAY_WORKERS: expected an integer"), "\(bad.log)")
        let mixed = try await Command.run(
            binary,
            ["run", "--config", "config/gateway.yaml", "--upstream", "127.0.0.1:9"],
            in: directory
        )
        #expect(mixed.exitCode != 0)
        #expect(mixed.log.contains("--config and --upstream cannot be combined"), "\(mixed.log)")
    }
}

/// One `upstream.py` for `body`, stopped afterwards; the directory is kept when the body fails.
private func withUpstream(
    _ label: String,
    _ body: (UpstreamProcess, URL) async throws -> Void
) async throws {
    let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
    let upstream = try await UpstreamProcess.start(in: directory)
    try await IntegrationEnvironment.withTearDown(of: directory) {
        try await body(upstream, directory)
    } tearDown: {
        await upstream.stop()
        return true
    }
}

/// The built gateway started with any arguments and environment (``GatewayProcess`` always writes a config).
private final class LaunchedGateway: Sendable {
    /// How to tell that the gateway serves.
    enum Readiness {
        /// Its "listening on 127.0.0.1:PORT" log line, and the port accepts connections.
        case logLine
        /// A listening TCP socket of its own on 127.0.0.1 (for log levels that hide the line).
        case socket
    }

    let process: ManagedProcess
    let port: Int
    let logFile: URL

    private init(process: ManagedProcess, port: Int, logFile: URL) {
        self.process = process
        self.port = port
        self.logFile = logFile
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The port of the "control plane on 127.0.0.1:PORT" line, if any.
    var controlPort: Int? {
        guard let range = log.range(of: "control plane on 127.0.0.1:") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }

    /// `env -u` for every `GATEWAY_*` override the test does not set (so the runner's own cannot leak in),
    /// then `NAME=value` for those it does.
    static func environmentArguments(_ environment: [String: String]) -> [String] {
        let overrides = [
            "GATEWAY_WORKERS", "GATEWAY_LISTEN", "GATEWAY_CONTROL_LISTEN", "GATEWAY_ADMIN_LISTEN",
            "GATEWAY_ACCESS_LOG_PATH", "GATEWAY_LOG_LEVEL",
        ]
        return overrides.filter { environment[$0] == nil }.flatMap { ["-u", $0] }
            + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    static func start(
        _ arguments: [String],
        environment: [String: String],
        in directory: URL,
        readiness: Readiness = .logLine
    ) async throws -> LaunchedGateway {
        let binary = IntegrationEnvironment.gatewayBinary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw IntegrationError("\(binary.path) is missing: run `swift build` before `swift test`")
        }
        let logFile = directory.appendingPathComponent("gateway-\(UUID().uuidString.prefix(8)).log")
        let process = try ManagedProcess(
            "gateway",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: environmentArguments(environment) + [binary.path] + arguments,
            logFile: logFile
        )
        var port: Int?
        _ = try await eventually(timeout: .seconds(60)) {
            let candidate: Int? =
                switch readiness {
                case .logLine:
                    GatewayProcess.listeningPort(in: (try? String(contentsOf: logFile, encoding: .utf8)) ?? "")
                case .socket:
                    listeningPort(of: process.pid)
                }
            if let candidate, IntegrationEnvironment.portAccepts(candidate) {
                port = candidate
            }
            // A gateway that has exited will never listen: stop polling at once.
            return port != nil || !process.isRunning
        }
        guard let port else {
            await process.terminate(grace: .seconds(2))
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            throw IntegrationError(
                "gateway \(arguments) did not start (status \(process.exitCode.map(String.init) ?? "running")):\n\(log)"
            )
        }
        return LaunchedGateway(process: process, port: port, logFile: logFile)
    }

    /// Runs `body`, then stops the gateway with SIGTERM, which must end it with status 0.
    func whileRunning(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await process.terminate(grace: .seconds(10))
            throw error
        }
        let code = await process.terminate(grace: .seconds(10))
        #expect(code == 0, "gateway exit status after SIGTERM: \(String(describing: code))\n\(log)")
    }

    /// The lowest 127.0.0.1 port `pid` listens on, from its socket inodes and /proc/net/tcp.
    private static func listeningPort(of pid: Int32) -> Int? {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        var inodes: Set<String> = []
        for descriptor in descriptors {
            guard
                let target = try? FileManager.default.destinationOfSymbolicLink(
                    atPath: "/proc/\(pid)/fd/\(descriptor)"
                ),
                target.hasPrefix("socket:[")
            else { continue }
            inodes.insert(String(target.dropFirst(8).dropLast()))
        }
        // Read to the end: String(contentsOfFile:) stops after the first page of a /proc file.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else {
            return nil
        }
        try? handle.close()
        let table = String(decoding: data, as: UTF8.self)
        var ports: [Int] = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // local_address is "0100007F:PORT" for 127.0.0.1; state 0A is LISTEN; field 9 is the inode.
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, local[0] == "0100007F", let port = Int(local[1], radix: 16) else { continue }
            ports.append(port)
        }
        return ports.min()
    }
}
