import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hot reload end to end: a real gateway process, real upstreams, real clients, SIGHUP and file edits.
@Suite("Integration: configuration reload")
struct ReloadIntegrationTests {
    /// Two upstreams (`ua` on node A, `ub` on node B); route `api` (`/whoami`) goes to `target`. With
    /// `extra`, a route `extra` exists too (routes come and go across reloads).
    static func yaml(
        controlPort: Int,
        a: String,
        b: String,
        target: String,
        extra: Bool = false,
        workers: Int = 2,
        watch: Bool = false,
        admin: (port: Int, dataPath: String)? = nil
    ) -> String {
        var text = """
            workers: \(workers)
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            config: {watch: \(watch)}

            """
        if let admin {
            text += """
                admin:
                  listen: "127.0.0.1:\(admin.port)"
                  keys: [{key: "reload-test-key", role: admin}]
                  data_path: "\(admin.dataPath)"

                """
        }
        text += """
            upstreams:
              - {id: ua, nodes: {"\(a)": 1}}
              - {id: ub, nodes: {"\(b)": 1}}
            routes:
              - {id: api, uri: /whoami, upstream_id: \(target)}

            """
        if extra { text += "  - {id: extra, uri: /extra/*, upstream_id: ua}\n" }
        return IntegrationEnvironment.withTestEngine(text)
    }

    static func write(_ yaml: String, to file: URL) throws {
        try yaml.writeTestFile(to: file)
    }

    static func status(_ gateway: GatewayProcess) async throws -> [String: Any] {
        try await gateway.control("/status").jsonObject()
    }

    static func generation(_ gateway: GatewayProcess) async throws -> Int {
        let config = try await status(gateway)["config"] as? [String: Any]
        return config?["generation"] as? Int ?? -1
    }

    /// Polls `/status` until the config generation reaches `generation`.
    static func waitForGeneration(_ gateway: GatewayProcess, _ generation: Int) async throws -> Bool {
        try await eventually(timeout: .seconds(15)) { try await Self.generation(gateway) >= generation }
    }

    static func answeringPort(_ gateway: GatewayProcess) async throws -> Int? {
        let response = try await RawConnection.request(port: gateway.port, "/whoami")
        guard response.status == 200 else { return nil }
        return try response.jsonObject()["port"] as? Int
    }

    static func withTwoUpstreams<T>(
        _ label: String,
        _ body: (_ directory: URL, _ a: UpstreamProcess, _ b: UpstreamProcess) async throws -> T
    ) async throws -> T {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let a = try await UpstreamProcess.start(in: directory, arguments: ["--nodelay"])
        let b = try await UpstreamProcess.start(in: directory, arguments: ["--nodelay"])
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let result = try await body(directory, a, b)
            await a.stop()
            await b.stop()
            return result
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
    }

    @Test(
        "SIGHUP file edits and Admin API writes every 200 ms under load: no failed request, traffic follows each reload, counters never reset, node state kept, a broken config changes nothing"
    )
    func reloadUnderLoad() async throws {
        try await timingSensitive {
            try await Self.withTwoUpstreams("reload-load") { directory, a, b in
                let nodeA = "127.0.0.1:\(a.port)"
                let nodeB = "127.0.0.1:\(b.port)"
                let dataPath = directory.appendingPathComponent("data/resources.json").path
                var adminPort = 0
                let gateway = try await GatewayProcess.start(in: directory) { control in
                    adminPort = (try? Loopback.unusedPort()) ?? 0
                    return Self.yaml(
                        controlPort: control,
                        a: nodeA,
                        b: nodeB,
                        target: "ua",
                        admin: (adminPort, dataPath)
                    )
                }
                let admin = AdminAPIIntegrationTests.Admin(port: adminPort, directory: directory)
                let adminConfig = (adminPort, dataPath)
                let prometheus = try PrometheusServer(
                    target: "127.0.0.1:\(gateway.controlPort)",
                    job: "reload",
                    in: directory
                )
                do {
                    try await prometheus.waitForUp()
                    let before = try await Self.status(gateway)
                    let sinceBefore = Self.nodeSince(before)
                    let load = WhoamiLoad(gatewayPort: gateway.port, clients: 3, pause: .milliseconds(2))
                    await load.waitFor(moreRequests: 100)

                    var generation = 0
                    var previousCount = 0.0
                    let clock = ContinuousClock()
                    let end = clock.now.advanced(by: .seconds(10))
                    var round = 0
                    var brokenSeen = false
                    // At least 10 s and 12 reloads, at most 240 s: a loaded machine makes rounds slower (one
                    // run got through only 3 rounds in 60 s), and the cap is there only to end a hung run.
                    let cap = clock.now.advanced(by: .seconds(240))
                    while (clock.now < end || round < 13) && clock.now < cap {
                        round += 1
                        if round == 8 {
                            // A broken config in the middle: an upstream reference that does not exist.
                            try Self.write(
                                Self.yaml(
                                    controlPort: gateway.controlPort,
                                    a: nodeA,
                                    b: nodeB,
                                    target: "nope",
                                    admin: adminConfig
                                ),
                                to: gateway.configFile
                            )
                            kill(gateway.pid, SIGHUP)
                            let counted = try await eventually(timeout: .seconds(15)) {
                                let metrics = try await gateway.scrape().exposition
                                return metrics.value("gateway_config_reloads_total", ["result": "failure"]) == 1
                            }
                            #expect(counted, "the failed reload is counted")
                            let config = try await Self.status(gateway)["config"] as? [String: Any]
                            let errors = config?["last_reload_error"] as? [String] ?? []
                            #expect(errors.contains { $0.contains("routes[0]") && $0.contains("nope") }, "\(errors)")
                            #expect(try await Self.generation(gateway) == generation, "a broken config is not applied")
                            brokenSeen = true
                            continue
                        }
                        // Every round moves /whoami to the other node, through the file or the Admin API:
                        // 1 the file sends it to ub; 2 an API route (priority 10) to ua; 3 the API route is
                        // deleted (back to the file's ub); 0 the file sends it to ua.
                        let expected: Int
                        switch round % 4 {
                        case 1, 0:
                            let target = round % 4 == 1 ? "ub" : "ua"
                            try Self.write(
                                Self.yaml(
                                    controlPort: gateway.controlPort,
                                    a: nodeA,
                                    b: nodeB,
                                    target: target,
                                    extra: round % 3 == 0,
                                    admin: adminConfig
                                ),
                                to: gateway.configFile
                            )
                            kill(gateway.pid, SIGHUP)
                            expected = target == "ua" ? a.port : b.port
                        case 2:
                            let put = try await admin.curl(
                                "PUT",
                                "/routes/override",
                                #"{"uri": "/whoami", "priority": 10, "upstream_id": "ua"}"#,
                                key: "reload-test-key"
                            )
                            #expect(put.status == 201, "\(put.bodyString)")
                            expected = a.port
                        default:
                            let delete = try await admin.curl("DELETE", "/routes/override", key: "reload-test-key")
                            #expect(delete.status == 200, "\(delete.bodyString)")
                            expected = b.port
                        }
                        generation += 1
                        #expect(try await Self.waitForGeneration(gateway, generation), "reload \(generation) applied")
                        // Within one reload, new requests go where the new config says.
                        let answered = try await Self.answeringPort(gateway)
                        #expect(answered == expected, "round \(round): answered by \(String(describing: answered))")
                        let count = try await gateway.scrape().exposition.sum(
                            "gateway_http_requests_total",
                            ["route": "api"]
                        )
                        #expect(count >= previousCount, "route api's counter went from \(previousCount) to \(count)")
                        previousCount = count
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    await load.stop()
                    #expect(brokenSeen)
                    #expect(generation >= 12, "only \(generation) reloads")
                    #expect(load.failures == 0, "failed requests during reloads: \(load.statuses.value)")
                    #expect(load.total > 300, "load too small to mean anything: \(load.total)")

                    let after = try await Self.status(gateway)
                    #expect(Self.nodeSince(after) == sinceBefore, "node health state was reset by a reload")
                    let metrics = try await gateway.scrape().exposition
                    #expect(metrics.value("gateway_config_reloads_total", ["result": "success"]) == Double(generation))
                    #expect(metrics.value("gateway_config_generation") == Double(generation))
                    // Prometheus saw the counters over the whole run: none of them ever went down.
                    let sawSamples = try await eventually(timeout: .seconds(10)) {
                        try await prometheus.scalar("count_over_time(gateway_config_generation[5m])") ?? 0 >= 5
                    }
                    #expect(sawSamples)
                    let resets = try await prometheus.scalar("sum(resets(gateway_http_requests_total[5m]))")
                    #expect(resets == 0, "counter resets seen by Prometheus: \(String(describing: resets))")
                } catch {
                    await prometheus.stop()
                    _ = await gateway.finish()
                    throw error
                }
                await prometheus.stop()
                #expect(await gateway.finish())
            }
        }
    }

    /// Each node's `since` in `/status`, keyed by address.
    static func nodeSince(_ status: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for upstream in status["upstreams"] as? [[String: Any]] ?? [] {
            for node in upstream["nodes"] as? [[String: Any]] ?? [] {
                if let address = node["node"] as? String { result[address] = node["since"] as? String ?? "" }
            }
        }
        return result
    }

    @Test("a removed route's series are scraped once more, then gone; surviving routes keep counting")
    func removedSeriesAreRetired() async throws {
        try await Self.withTwoUpstreams("reload-retire") { directory, a, b in
            let nodeA = "127.0.0.1:\(a.port)"
            let nodeB = "127.0.0.1:\(b.port)"
            let gateway = try await GatewayProcess.start(in: directory) { control in
                Self.yaml(controlPort: control, a: nodeA, b: nodeB, target: "ua", extra: true)
            }
            for _ in 0..<5 {
                #expect(try await RawConnection.request(port: gateway.port, "/extra/x").status == 404)
                #expect(try await RawConnection.request(port: gateway.port, "/whoami").status == 200)
            }
            let first = try await gateway.scrape().exposition
            #expect(first.sum("gateway_http_requests_total", ["route": "extra"]) == 5)
            #expect(first.sum("gateway_http_requests_total", ["route": "api"]) == 5)

            try Self.write(
                Self.yaml(controlPort: gateway.controlPort, a: nodeA, b: nodeB, target: "ua"),
                to: gateway.configFile
            )
            kill(gateway.pid, SIGHUP)
            #expect(try await Self.waitForGeneration(gateway, 1))
            let once = try await gateway.scrape().exposition
            #expect(once.sum("gateway_http_requests_total", ["route": "extra"]) == 5, "shown once more")
            let gone = try await gateway.scrape().exposition
            #expect(gone.sum("gateway_http_requests_total", ["route": "extra"]) == 0, "then dropped")
            #expect(gone.value("gateway_http_request_duration_seconds_count", ["route": "extra"]) == nil)
            #expect(try await RawConnection.request(port: gateway.port, "/whoami").status == 200)
            let later = try await gateway.scrape().exposition
            #expect(later.sum("gateway_http_requests_total", ["route": "api"]) == 6, "api kept counting")
            #expect(await gateway.finish())
        }
    }

    @Test("process-level keys keep their running value, are listed in restart_required and logged once")
    func processLevelKeysNeedARestart() async throws {
        try await timingSensitive {
            try await Self.withTwoUpstreams("reload-process") { directory, a, b in
                let nodeA = "127.0.0.1:\(a.port)"
                let nodeB = "127.0.0.1:\(b.port)"
                let gateway = try await GatewayProcess.start(in: directory) { control in
                    Self.yaml(controlPort: control, a: nodeA, b: nodeB, target: "ua", workers: 2)
                }
                try Self.write(
                    Self.yaml(controlPort: gateway.controlPort, a: nodeA, b: nodeB, target: "ub", workers: 1),
                    to: gateway.configFile
                )
                kill(gateway.pid, SIGHUP)
                #expect(try await Self.waitForGeneration(gateway, 1))
                let status = try await Self.status(gateway)
                #expect(status["restart_required"] as? [String] == ["workers"])
                #expect((status["workers"] as? [Any])?.count == 2, "still two workers")
                #expect(try await Self.answeringPort(gateway) == b.port, "everything else was applied")
                let lines = gateway.log.split(separator: "\n").filter { $0.contains("config key workers changed") }
                #expect(lines.count == 1, "\(gateway.log)")
                #expect(await gateway.finish())
            }
        }
    }

    @Test("config.watch: saving the file reloads it without a signal; a broken save is reported once")
    func fileWatchReloads() async throws {
        try await Self.withTwoUpstreams("reload-watch") { directory, a, b in
            let nodeA = "127.0.0.1:\(a.port)"
            let nodeB = "127.0.0.1:\(b.port)"
            let gateway = try await GatewayProcess.start(in: directory) { control in
                Self.yaml(controlPort: control, a: nodeA, b: nodeB, target: "ua", watch: true)
            }
            #expect(try await Self.answeringPort(gateway) == a.port)
            try Self.write(
                Self.yaml(controlPort: gateway.controlPort, a: nodeA, b: nodeB, target: "ub", watch: true),
                to: gateway.configFile
            )
            #expect(try await Self.waitForGeneration(gateway, 1))
            #expect(try await Self.answeringPort(gateway) == b.port)
            try "routes: [".writeTestFile(to: gateway.configFile)
            let failed = try await eventually(timeout: .seconds(15)) {
                try await gateway.scrape().exposition.value("gateway_config_reloads_total", ["result": "failure"]) == 1
            }
            #expect(failed)
            #expect(try await Self.answeringPort(gateway) == b.port, "the running config stays")
            #expect(await gateway.finish())
        }
    }

    /// `/status`'s `config.hash` and generation.
    static func configHash(_ gateway: GatewayProcess) async throws -> (hash: String, generation: Int) {
        let config = try await status(gateway)["config"] as? [String: Any]
        return (config?["hash"] as? String ?? "", config?["generation"] as? Int ?? -1)
    }

    static func renameOver(_ file: URL, with yaml: String) throws {
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).swp")
        try Data(yaml.utf8).writeTestFile(to: temporary)
        guard rename(temporary.path, file.path) == 0 else { throw IntegrationError("rename: errno \(errno)") }
    }

    @Test(
        "config.watch uses inotify: an editor's rename-replace and an in-place write reload; identical bytes do not; the hash follows the content"
    )
    func fileWatchRenameAndInPlace() async throws {
        try await Self.withTwoUpstreams("reload-inotify") { directory, a, b in
            let nodeA = "127.0.0.1:\(a.port)"
            let nodeB = "127.0.0.1:\(b.port)"
            let gateway = try await GatewayProcess.start(in: directory) { control in
                Self.yaml(controlPort: control, a: nodeA, b: nodeB, target: "ua", watch: true)
            }
            func yaml(_ target: String) -> String {
                Self.yaml(controlPort: gateway.controlPort, a: nodeA, b: nodeB, target: target, watch: true)
            }
            #expect(gateway.log.contains("when it changes (inotify)"), "\(gateway.log)")
            let initial = try await Self.configHash(gateway)
            #expect(initial.generation == 0)

            // An editor's save: a temporary file renamed over the configuration.
            try Self.renameOver(gateway.configFile, with: yaml("ub"))
            #expect(try await Self.waitForGeneration(gateway, 1))
            #expect(try await Self.answeringPort(gateway) == b.port)
            let renamed = try await Self.configHash(gateway)
            #expect(renamed.hash != initial.hash)
            let info = try await gateway.scrape().exposition.samples("gateway_config_info").filter { $0.value == 1 }
            #expect(info.map { $0.labels["hash"] } == [renamed.hash], "\(info)")

            // Written in place (truncated and rewritten): back to the first content, and its hash.
            try Data(yaml("ua").utf8).writeTestFile(to: gateway.configFile)
            #expect(try await Self.waitForGeneration(gateway, 2))
            #expect(try await Self.answeringPort(gateway) == a.port)
            #expect(try await Self.configHash(gateway).hash == initial.hash, "same content, another hash")

            // The same bytes saved again change nothing; the change after it is the next generation.
            try Self.renameOver(gateway.configFile, with: yaml("ua"))
            try Self.renameOver(gateway.configFile, with: yaml("ub"))
            #expect(try await Self.waitForGeneration(gateway, 3))
            #expect(try await Self.answeringPort(gateway) == b.port)
            #expect(try await Self.configHash(gateway).generation == 3, "identical bytes were reloaded")
            #expect(await gateway.finish())
        }
    }

    @Test("config.watch follows a Kubernetes ConfigMap volume: each ..data symlink swap reloads")
    func fileWatchConfigMapSwap() async throws {
        try await Self.withTwoUpstreams("reload-configmap") { directory, a, b in
            let nodeA = "127.0.0.1:\(a.port)"
            let nodeB = "127.0.0.1:\(b.port)"
            let gateway = try await GatewayProcess.start(in: directory) { control in
                Self.yaml(controlPort: control, a: nodeA, b: nodeB, target: "ua", watch: true)
            }
            func yaml(_ target: String) -> String {
                Self.yaml(controlPort: gateway.controlPort, a: nodeA, b: nodeB, target: target, watch: true)
            }
            #expect(gateway.log.contains("when it changes (inotify)"), "\(gateway.log)")
            let name = gateway.configFile.lastPathComponent
            // What the kubelet writes: a timestamped directory with the files, `..data` pointing at it, and
            // the file itself a symlink through `..data`; an update writes a new directory, swaps `..data`
            // by renaming a new symlink over it, and removes the old directory.
            func publish(_ version: Int, _ yaml: String) throws {
                let versionName = "..2024_01_01_00_00_0\(version).000000001"
                let versionDirectory = directory.appendingPathComponent(versionName)
                try FileManager.default.createDirectory(at: versionDirectory, withIntermediateDirectories: false)
                try Data(yaml.utf8).writeTestFile(to: versionDirectory.appendingPathComponent(name))
                let dataTemporary = directory.appendingPathComponent("..data_tmp").path
                guard symlink(versionName, dataTemporary) == 0,
                    rename(dataTemporary, directory.appendingPathComponent("..data").path) == 0
                else { throw IntegrationError("..data swap: errno \(errno)") }
                if version > 1 {
                    let old = directory.appendingPathComponent("..2024_01_01_00_00_0\(version - 1).000000001")
                    try FileManager.default.removeItem(at: old)
                }
            }
            // The gateway's file becomes the ConfigMap's symlink, with the same content: nothing to reload.
            try publish(1, yaml("ua"))
            let link = directory.appendingPathComponent("\(name).link").path
            guard symlink("..data/\(name)", link) == 0, rename(link, gateway.configFile.path) == 0 else {
                throw IntegrationError("symlink: errno \(errno)")
            }
            try publish(2, yaml("ub"))
            #expect(try await Self.waitForGeneration(gateway, 1))
            #expect(try await Self.answeringPort(gateway) == b.port)
            // The watch follows the new directory: the next swap is seen too.
            try publish(3, yaml("ua"))
            #expect(try await Self.waitForGeneration(gateway, 2))
            #expect(try await Self.answeringPort(gateway) == a.port)
            #expect(try await Self.generation(gateway) == 2, "one reload per swap")
            #expect(await gateway.finish())
        }
    }
}
