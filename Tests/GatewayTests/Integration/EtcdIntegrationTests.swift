import Foundation
import TestSupport
import Testing

/// The etcd configuration store end to end: real etcd, real gateway processes, routes written through
/// the Admin API and with `etcdctl` in APISIX's format.
@Suite("Integration: etcd configuration store", .serialized)
struct EtcdIntegrationTests {
    /// etcd, an upstream and a temporary directory for `body`, all stopped afterwards.
    static func withEtcd(
        _ label: String,
        _ body: (EtcdServer, UpstreamProcess, URL) async throws -> Void
    ) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let etcd = try await EtcdServer.start(in: directory)
        let upstream: UpstreamProcess
        do {
            upstream = try await UpstreamProcess.start(in: directory)
        } catch {
            await etcd.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(etcd, upstream, directory)
        } tearDown: {
            await upstream.stop()
            await etcd.stop()
            return true
        }
    }

    /// Stops `gateways` after `body`, which is a failure unless each drains cleanly.
    static func finishing<T>(_ gateways: [EtcdGateway], _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            for gateway in gateways { _ = await gateway.process.finish() }
            return result
        } catch {
            for gateway in gateways { _ = await gateway.process.finish() }
            throw error
        }
    }

    @Test("three gateways on one etcd: a route created through A's Admin API is served by B and C within 1 s")
    func fleetPropagation() async throws {
        try await Self.withEtcd("etcd-fleet") { etcd, upstream, directory in
            let a = try await EtcdGateway.start(in: directory, endpoints: [etcd.url], admin: true)
            let b = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            let c = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            try await Self.finishing([a, b, c]) {
                try await timingSensitive {
                    let body =
                        #"{"uri":"/fleet/whoami","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:\#(upstream.port)":1}}}"#
                    let created = try await a.admin("PUT", "/routes/fleet", body, in: directory)
                    let answered = ContinuousClock.now
                    #expect(created.status == 201, "\(created.bodyString)")
                    // The writing instance serves it at once.
                    #expect(await a.status("/fleet/whoami") == 200)
                    var servedBy: [String: Duration] = [:]
                    _ = try await eventually(timeout: .seconds(10), interval: .milliseconds(5)) {
                        for (name, gateway) in [("B", b), ("C", c)] where servedBy[name] == nil {
                            if await gateway.status("/fleet/whoami") == 200 {
                                servedBy[name] = ContinuousClock.now - answered
                            }
                        }
                        return servedBy.count == 2
                    }
                    print(
                        "etcd fleet: route created through A served by B after \(servedBy["B"].map { "\($0)" } ?? "never"), by C after \(servedBy["C"].map { "\($0)" } ?? "never") (from A's 201)"
                    )
                    #expect(servedBy.count == 2)
                    #expect(servedBy.values.allSatisfy { $0 < .seconds(1) }, "\(servedBy)")
                }
                // A's Admin API follows what others write into etcd.
                try await etcd.put(
                    "/apisix/routes/other",
                    apisixRoute(id: "other", uri: "/other/whoami", upstreamPort: upstream.port)
                )
                #expect(try await a.waitFor("/other/whoami"))
                let read = try await a.admin("GET", "/routes/other", in: directory)
                #expect(read.status == 200, "\(read.bodyString)")
                // Its write of a resource someone else has since changed is refused unless it has seen the change:
                // here it has (the watch delivered it), so an update goes through with etcd's revision.
                let updated = try await a.admin(
                    "PATCH",
                    "/routes/other",
                    #"{"uri":"/other2/whoami"}"#,
                    in: directory
                )
                #expect(updated.status == 200, "\(updated.bodyString)")
                let modified = try updated.jsonObject()["modifiedIndex"] as? Int
                #expect(modified.map(Int64.init) == (try await etcd.revision()))
                #expect(try await b.waitFor("/other2/whoami"))
                // A delete through A goes to etcd too: B and C stop serving the route.
                let deleted = try await a.admin("DELETE", "/routes/fleet", in: directory)
                #expect(deleted.status == 200, "\(deleted.bodyString)")
                #expect(try await etcd.ctl(["get", "/apisix/routes/fleet"]).isEmpty)
                #expect(try await b.waitFor("/fleet/whoami", status: 404))
                #expect(try await c.waitFor("/fleet/whoami", status: 404))
            }
        }
    }

    @Test("etcd killed and started again under load: zero failed requests, and the watch resumes")
    func restartUnderLoad() async throws {
        try await Self.withEtcd("etcd-restart") { etcd, upstream, directory in
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/load/whoami", upstreamPort: upstream.port)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            try await Self.finishing([gateway]) {
                #expect(try await gateway.waitFor("/load/whoami"))
                let counts = LockedValue((ok: 0, failed: 0, failures: [String]()))
                let stop = LockedValue(false)
                let port = gateway.port
                let load = Task {
                    // Bounded: at most 20000 requests, one at a time, each on a fresh connection.
                    for _ in 0..<20_000 where !stop.value {
                        do {
                            let response = try await RawConnection.request(
                                port: port,
                                "/load/whoami",
                                timeout: .seconds(10)
                            )
                            counts.withLock {
                                if response.status == 200 {
                                    $0.ok += 1
                                } else {
                                    $0.failed += 1
                                    $0.failures.append("status \(response.status)")
                                }
                            }
                        } catch {
                            counts.withLock {
                                $0.failed += 1
                                $0.failures.append("\(error)")
                            }
                        }
                    }
                }
                #expect(try await eventually(timeout: .seconds(20)) { counts.value.ok >= 50 })
                await etcd.kill()
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        try await gateway.metric("gateway_config_store_up") == 0
                    }
                )
                try await etcd.restart()
                #expect(
                    try await eventually(timeout: .seconds(30)) {
                        try await gateway.metric("gateway_config_store_up") == 1
                    }
                )
                try await etcd.put(
                    "/apisix/routes/2",
                    apisixRoute(id: "2", uri: "/after/whoami", upstreamPort: upstream.port)
                )
                #expect(try await gateway.waitFor("/after/whoami"))
                stop.withLock { $0 = true }
                await load.value
                let final = counts.value
                #expect(final.failed == 0, "\(final.failures.prefix(5))")
                #expect(final.ok > 50)
                #expect((try await gateway.metric("gateway_config_store_watch_restarts_total") ?? 0) >= 1)
            }
        }
    }

    @Test("compaction while the gateway is cut off from etcd: a full resync, then the new routes are served")
    func compactionResync() async throws {
        try await Self.withEtcd("etcd-compact") { etcd, upstream, directory in
            let relay = try await EtcdRelay.start(to: etcd.endpoint, in: directory)
            defer { relay.process.signal(SIGKILL) }
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/one/whoami", upstreamPort: upstream.port)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [relay.endpoint])
            try await Self.finishing([gateway]) {
                #expect(try await gateway.waitFor("/one/whoami"))
                #expect(try await gateway.metric("gateway_config_store_resync_total") == 0)
                relay.cut()
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        try await gateway.metric("gateway_config_store_up") == 0
                    }
                )
                try await etcd.put(
                    "/apisix/routes/2",
                    apisixRoute(id: "2", uri: "/two/whoami", upstreamPort: upstream.port)
                )
                try await etcd.delete("/apisix/routes/1")
                try await etcd.put(
                    "/apisix/routes/3",
                    apisixRoute(id: "3", uri: "/three/whoami", upstreamPort: upstream.port)
                )
                try await etcd.compact()
                // Still serving the last good configuration while cut off.
                #expect(await gateway.status("/one/whoami") == 200)
                relay.restore()
                #expect(try await gateway.waitFor("/two/whoami", timeout: .seconds(30)))
                #expect(try await gateway.waitFor("/three/whoami"))
                #expect(try await gateway.waitFor("/one/whoami", status: 404))
                #expect((try await gateway.metric("gateway_config_store_resync_total") ?? 0) >= 1)
                #expect(try await gateway.metric("gateway_config_store_revision") == Double(try await etcd.revision()))
                #expect(try await gateway.metric("gateway_config_store_up") == 1)
            }
            await relay.stop()
        }
    }

    @Test("an Admin API write over a change this gateway has not seen yet is a 409 and changes nothing")
    func staleWriteConflicts() async throws {
        try await Self.withEtcd("etcd-409") { etcd, upstream, directory in
            let relay = try await EtcdRelay.start(to: etcd.endpoint, in: directory)
            defer { relay.process.signal(SIGKILL) }
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/one/whoami", upstreamPort: upstream.port)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [relay.endpoint], admin: true)
            try await Self.finishing([gateway]) {
                #expect(try await gateway.waitFor("/one/whoami"))
                // A change that arrives through the watch proves it is open (through the relay) before
                // it is frozen.
                try await etcd.put(
                    "/apisix/routes/9",
                    apisixRoute(id: "9", uri: "/canary/whoami", upstreamPort: upstream.port)
                )
                #expect(try await gateway.waitFor("/canary/whoami"))
                // The watch stops delivering; someone else changes route 1 in etcd meanwhile.
                try await relay.freeze()
                try await etcd.put(
                    "/apisix/routes/1",
                    apisixRoute(id: "1", uri: "/theirs/whoami", upstreamPort: upstream.port)
                )
                let body =
                    #"{"uri":"/mine/whoami","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:\#(upstream.port)":1}}}"#
                let stale = try await gateway.admin("PUT", "/routes/1", body, in: directory)
                #expect(stale.status == 409, "\(stale.status) \(stale.bodyString)")
                // Nothing of the refused write reached etcd.
                let stored = try await etcd.ctl(["get", "/apisix/routes/1", "--print-value-only"])
                #expect(stored.contains("/theirs/whoami") && !stored.contains("/mine/"), "\(stored)")
                relay.restore()
                #expect(try await gateway.waitFor("/theirs/whoami"))
                #expect(try await gateway.waitFor("/mine/whoami", status: 404))
                // Having seen the change, the same write now goes through.
                let retried = try await gateway.admin("PUT", "/routes/1", body, in: directory)
                #expect(retried.status == 200 || retried.status == 201, "\(retried.status) \(retried.bodyString)")
                #expect(try await gateway.waitFor("/mine/whoami"))
            }
            await relay.stop()
        }
    }

    @Test("etcd down at start: the cache serves, and the gateway catches up when etcd is back")
    func downAtStartWithCache() async throws {
        try await Self.withEtcd("etcd-cache") { etcd, upstream, directory in
            let cache = directory.appendingPathComponent("data/etcd-cache.json")
            let first = try await EtcdGateway.start(in: directory, endpoints: [etcd.url], cachePath: cache.path)
            try await Self.finishing([first]) {
                try await etcd.put(
                    "/apisix/routes/1",
                    apisixRoute(id: "1", uri: "/cached/whoami", upstreamPort: upstream.port)
                )
                #expect(try await first.waitFor("/cached/whoami"))
                #expect(
                    try await eventually(timeout: .seconds(10)) {
                        ((try? String(contentsOf: cache, encoding: .utf8)) ?? "").contains("/cached/whoami")
                    }
                )
            }
            await etcd.stop()
            let second = try await EtcdGateway.start(in: directory, endpoints: [etcd.url], cachePath: cache.path)
            try await Self.finishing([second]) {
                #expect(await second.status("/cached/whoami") == 200)
                #expect(try await second.metric("gateway_config_store_up") == 0)
                #expect(try await second.storeStatus()["from_cache"] as? Bool == true)
                try await etcd.restart()
                try await etcd.put(
                    "/apisix/routes/2",
                    apisixRoute(id: "2", uri: "/later/whoami", upstreamPort: upstream.port)
                )
                #expect(try await second.waitFor("/later/whoami", timeout: .seconds(30)))
                #expect(await second.status("/cached/whoami") == 200)
                #expect(try await second.metric("gateway_config_store_up") == 1)
                #expect((try await second.metric("gateway_config_store_resync_total") ?? 0) >= 1)
            }
        }
    }

    @Test("etcd down at start without a cache: the gateway refuses to start and names the endpoints")
    func downAtStartWithoutCache() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("etcd-nocache")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dead = try RefusingPort()
        let config = directory.appendingPathComponent("gateway.yaml")
        let yaml = EtcdGateway.yaml(
            controlPort: try Loopback.unusedPort(),
            adminPort: nil,
            endpoints: ["127.0.0.1:\(dead.port)"],
            cachePath: directory.appendingPathComponent("missing.json").path
        )
        try IntegrationEnvironment.withTestEngine(yaml).writeTestFile(to: config)
        // `gateway check` never contacts etcd: the file itself is valid.
        let check = try await Command.run(
            IntegrationEnvironment.gatewayBinary.path,
            ["check", "--config", config.path]
        )
        #expect(check.exitCode == 0, "\(check.log)")
        let run = try await Command.run(
            IntegrationEnvironment.gatewayBinary.path,
            ["run", "--config", config.path],
            timeout: .seconds(60)
        )
        #expect(run.exitCode != 0)
        #expect(run.log.contains("http://127.0.0.1:\(dead.port)"), "\(run.log)")
        #expect(run.log.contains("no cache"), "\(run.log)")
        #expect(!run.log.contains("listening on"), "\(run.log)")
    }

    @Test(
        "routes written with etcdctl in APISIX's format are served; one with an unsupported plugin is not, and is reported"
    )
    func apisixFormatAndUnsupportedPlugins() async throws {
        try await Self.withEtcd("etcd-apisix") { etcd, upstream, directory in
            try await etcd.put("/apisix/routes", "init_dir")
            try await etcd.put("/apisix/plugin_metadata/http-logger", #"{"log_format":{}}"#)
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/apisix/whoami", upstreamPort: upstream.port)
            )
            try await etcd.put(
                "/apisix/upstreams/u1",
                #"{"id":"u1","type":"roundrobin","nodes":{"127.0.0.1:\#(upstream.port)":1},"create_time":1700000000,"update_time":1700000000}"#
            )
            try await etcd.put(
                "/apisix/routes/2",
                #"{"id":"2","uri":"/by-upstream/whoami","upstream_id":"u1","status":1,"priority":0,"create_time":1700000000,"update_time":1700000000}"#
            )
            let serverless = #"{"serverless-pre-function":{"phase":"rewrite","functions":["return function() end"]}}"#
            try await etcd.put(
                "/apisix/routes/3",
                apisixRoute(id: "3", uri: "/serverless/whoami", upstreamPort: upstream.port, plugins: serverless)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            try await Self.finishing([gateway]) {
                #expect(await gateway.status("/apisix/whoami") == 200)
                #expect(await gateway.status("/by-upstream/whoami") == 200)
                #expect(await gateway.status("/file") == 200)
                #expect(await gateway.status("/serverless/whoami") == 404)
                #expect(try await gateway.rejected() == ["/apisix/routes/3": "unsupported_plugin"])
                let labels = ["kind": "routes", "id": "3", "reason": "unsupported_plugin"]
                #expect(try await gateway.metric("gateway_config_store_rejected_resources", labels) == 1)
                #expect(gateway.process.log.contains("serverless-pre-function"))
                // The same through the watch: the new route is not served, the rest keep serving.
                try await etcd.put(
                    "/apisix/routes/4",
                    apisixRoute(id: "4", uri: "/serverless4/whoami", upstreamPort: upstream.port, plugins: serverless)
                )
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        try await gateway.rejected()["/apisix/routes/4"] == "unsupported_plugin"
                    }
                )
                #expect(await gateway.status("/serverless4/whoami") == 404)
                #expect(await gateway.status("/apisix/whoami") == 200)
                // Without the plugin it is served, and no longer reported.
                try await etcd.put(
                    "/apisix/routes/4",
                    apisixRoute(id: "4", uri: "/serverless4/whoami", upstreamPort: upstream.port)
                )
                #expect(try await gateway.waitFor("/serverless4/whoami"))
                #expect(
                    try await eventually(timeout: .seconds(10)) {
                        try await gateway.rejected()["/apisix/routes/4"] == nil
                    }
                )
            }
        }
    }

    @Test(
        "an invalid resource written with etcdctl is rejected, counted and shown; the last good version keeps serving"
    )
    func invalidResourceRejected() async throws {
        try await Self.withEtcd("etcd-invalid") { etcd, upstream, directory in
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/good/whoami", upstreamPort: upstream.port)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            try await Self.finishing([gateway]) {
                #expect(try await gateway.waitFor("/good/whoami"))
                try await etcd.put("/apisix/routes/1", #"{"id":"1","uri":"good-without-slash","upstream_id":"nope"}"#)
                try await etcd.put(
                    "/apisix/routes/2",
                    #"{"id":"2","uri":"/bad/whoami","upstream":{"nodes":"not a map"}}"#
                )
                try await etcd.put(
                    "/apisix/routes/3",
                    apisixRoute(id: "3", uri: "/fine/whoami", upstreamPort: upstream.port)
                )
                #expect(try await gateway.waitFor("/fine/whoami"))
                #expect(try await eventually(timeout: .seconds(10)) { try await gateway.rejected().count == 2 })
                #expect(try await gateway.rejected() == ["/apisix/routes/1": "invalid", "/apisix/routes/2": "invalid"])
                #expect(await gateway.status("/good/whoami") == 200)
                #expect(await gateway.status("/bad/whoami") == 404)
                let labels = ["kind": "routes", "id": "1", "reason": "invalid"]
                #expect(try await gateway.metric("gateway_config_store_rejected_resources", labels) == 1)
                let entry = try #require(
                    (try await gateway.storeStatus()["rejected"] as? [[String: Any]])?.first {
                        $0["key"] as? String == "/apisix/routes/1"
                    }
                )
                #expect(entry["serving_previous"] as? Bool == true)
                #expect((entry["detail"] as? String ?? "").contains("uri"))
                // Fixed in etcd: served as written, no longer reported.
                try await etcd.put(
                    "/apisix/routes/1",
                    apisixRoute(id: "1", uri: "/good2/whoami", upstreamPort: upstream.port)
                )
                #expect(try await gateway.waitFor("/good2/whoami"))
                #expect(
                    try await eventually(timeout: .seconds(10)) {
                        try await gateway.rejected() == ["/apisix/routes/2": "invalid"]
                    }
                )
                #expect(await gateway.status("/good/whoami") == 404)
            }
        }
    }

    @Test(
        "the watch resumes from the last revision after a disconnect: a change made meanwhile is served, without a resync"
    )
    func watchResumesAfterDisconnect() async throws {
        try await Self.withEtcd("etcd-resume") { etcd, upstream, directory in
            let relay = try await EtcdRelay.start(to: etcd.endpoint, in: directory)
            defer { relay.process.signal(SIGKILL) }
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/before/whoami", upstreamPort: upstream.port)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [relay.endpoint])
            try await Self.finishing([gateway]) {
                #expect(try await gateway.waitFor("/before/whoami"))
                #expect(try await gateway.metric("gateway_config_store_resync_total") == 0)
                relay.cut()
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        try await gateway.metric("gateway_config_store_up") == 0
                    }
                )
                // Changed directly in etcd while the gateway cannot see it (no compaction: the revision stays).
                let revision = try await etcd.put(
                    "/apisix/routes/1",
                    apisixRoute(id: "1", uri: "/after/whoami", upstreamPort: upstream.port)
                )
                #expect(await gateway.status("/before/whoami") == 200)
                relay.restore()
                #expect(try await gateway.waitFor("/after/whoami", timeout: .seconds(30)))
                #expect(try await gateway.waitFor("/before/whoami", status: 404))
                #expect(
                    try await eventually(timeout: .seconds(10)) {
                        try await gateway.metric("gateway_config_store_revision") == Double(revision)
                    }
                )
                #expect(try await gateway.metric("gateway_config_store_resync_total") == 0)
                #expect((try await gateway.metric("gateway_config_store_watch_restarts_total") ?? 0) >= 1)
                #expect(try await gateway.metric("gateway_config_store_up") == 1)
            }
            await relay.stop()
        }
    }

    /// The status of `GET path` with the key-auth header `apikey` (0 when the request failed).
    static func status(_ gateway: EtcdGateway, _ path: String, apikey: String) async -> Int {
        let response = try? await RawConnection.request(
            port: gateway.port,
            path,
            headers: ["apikey: \(apikey)"],
            timeout: .seconds(5)
        )
        return response?.status ?? 0
    }

    @Test(
        "APISIX's _meta in etcd: disable leaves the plugin out; a route with another _meta field is not served, and is reported"
    )
    func apisixPluginMeta() async throws {
        try await Self.withEtcd("etcd-meta") { etcd, upstream, directory in
            func route(_ id: String, _ uri: String, meta: String) -> String {
                apisixRoute(id: id, uri: uri, upstreamPort: upstream.port, plugins: #"{"key-auth":{"_meta":\#(meta)}}"#)
            }
            try await etcd.put("/apisix/routes/1", route("1", "/disabled/whoami", meta: #"{"disable":true}"#))
            try await etcd.put("/apisix/routes/2", route("2", "/enabled/whoami", meta: #"{"disable":false}"#))
            try await etcd.put(
                "/apisix/routes/3",
                route("3", "/filtered/whoami", meta: #"{"filter":[["arg_version","==","v2"]]}"#)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [etcd.url])
            try await Self.finishing([gateway]) {
                // APISIX skips a disabled plugin: no key needed.
                #expect(await gateway.status("/disabled/whoami") == 200)
                #expect(await gateway.status("/enabled/whoami") == 401)
                #expect(await gateway.status("/filtered/whoami") == 404)
                #expect(try await gateway.rejected() == ["/apisix/routes/3": "unsupported_plugin"])
                let labels = ["kind": "routes", "id": "3", "reason": "unsupported_plugin"]
                #expect(try await gateway.metric("gateway_config_store_rejected_resources", labels) == 1)
                #expect(gateway.process.log.contains("_meta.filter"), "\(gateway.process.log)")
                let entry = (try await gateway.storeStatus()["rejected"] as? [[String: Any]])?.first
                #expect((entry?["detail"] as? String ?? "").contains("_meta.filter"))
                // Through the watch: disabling opens route 2; a priority on route 1 stops serving it.
                try await etcd.put("/apisix/routes/2", route("2", "/enabled/whoami", meta: #"{"disable":true}"#))
                try await etcd.put("/apisix/routes/1", route("1", "/disabled/whoami", meta: #"{"priority":9000}"#))
                #expect(try await gateway.waitFor("/enabled/whoami"))
                #expect(try await gateway.waitFor("/disabled/whoami", status: 404))
                #expect(
                    try await gateway.rejected() == [
                        "/apisix/routes/1": "unsupported_plugin", "/apisix/routes/3": "unsupported_plugin",
                    ]
                )
            }
        }
    }

    @Test(
        "a consumer key APISIX encrypted in etcd: the plain key authenticates, the ciphertext does not; Admin API writes are encrypted"
    )
    func encryptedFields() async throws {
        try await Self.withEtcd("etcd-encrypt") { etcd, upstream, directory in
            // As APISIX 3 writes it with its default keyring (here its second key, as after a key rotation).
            let ciphertext = try await FieldCipherTests.openssl("jack-plain-key", key: "edd1c9f0985e76a2")
            try await etcd.put(
                "/apisix/consumers/jack",
                #"{"username":"jack","plugins":{"key-auth":{"key":"\#(ciphertext)"}},"create_time":1700000000,"update_time":1700000000}"#
            )
            try await etcd.put(
                "/apisix/routes/1",
                apisixRoute(id: "1", uri: "/auth/whoami", upstreamPort: upstream.port, plugins: #"{"key-auth":{}}"#)
            )
            let gateway = try await EtcdGateway.start(in: directory, endpoints: [etcd.url], admin: true)
            try await Self.finishing([gateway]) {
                #expect(await Self.status(gateway, "/auth/whoami", apikey: "jack-plain-key") == 200)
                #expect(await Self.status(gateway, "/auth/whoami", apikey: ciphertext) == 401)
                // Written through this gateway's Admin API: encrypted with the keyring's first key, as APISIX
                // writes it, and read back in plain text.
                let created = try await gateway.admin(
                    "PUT",
                    "/consumers",
                    #"{"username":"jill","plugins":{"key-auth":{"key":"jill-plain-key"}}}"#,
                    in: directory
                )
                #expect(created.status == 201, "\(created.bodyString)")
                let stored = try await etcd.ctl(["get", "/apisix/consumers/jill", "--print-value-only"])
                let expected = try await FieldCipherTests.openssl("jill-plain-key", key: "qeddd145sfvddff3")
                #expect(stored.contains(expected) && !stored.contains("jill-plain-key"), "\(stored)")
                let credential = try await gateway.admin(
                    "PUT",
                    "/consumers/jill/credentials/c1",
                    #"{"plugins":{"key-auth":{"key":"jill-second-key"}}}"#,
                    in: directory
                )
                #expect(credential.status == 201, "\(credential.bodyString)")
                let storedCredential = try await etcd.ctl([
                    "get", "/apisix/consumers/jill/credentials/c1", "--print-value-only",
                ])
                #expect(!storedCredential.contains("jill-second-key"), "\(storedCredential)")
                #expect(await Self.status(gateway, "/auth/whoami", apikey: "jill-plain-key") == 200)
                #expect(await Self.status(gateway, "/auth/whoami", apikey: "jill-second-key") == 200)
                #expect(await Self.status(gateway, "/auth/whoami", apikey: expected) == 401)
                let read = try await gateway.admin("GET", "/consumers/jill", in: directory)
                #expect(read.bodyString.contains("jill-plain-key"), "\(read.bodyString)")
                // A key written in plain text with etcdctl (it does not decrypt) is used as written, as APISIX does.
                try await etcd.put(
                    "/apisix/consumers/joe",
                    #"{"username":"joe","plugins":{"key-auth":{"key":"joe-plain-key"}}}"#
                )
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        await Self.status(gateway, "/auth/whoami", apikey: "joe-plain-key") == 200
                    }
                )
                #expect(gateway.process.log.contains("/apisix/consumers/joe plugins.key-auth.key did not decrypt"))
            }
        }
    }
}
