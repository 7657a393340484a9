import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Admin API end to end: curl against a real gateway process, resources served by its workers,
/// persisted across restarts and a kill -9.
@Suite("Integration: APISIX-compatible Admin API")
struct AdminAPIIntegrationTests {
    static let adminKey = "edd1c9f034335f136f87ad84b625c8f1"
    static let viewerKey = "4054f7cf07e344346cd3f287985e76a2"

    /// A gateway with one file-defined route (`/file`, mocked) and the Admin API on `adminPort`.
    /// `extra` is appended (more top-level sections, e.g. `services:`).
    static func yaml(controlPort: Int, adminPort: Int, dataPath: String, extra: String = "") -> String {
        IntegrationEnvironment.withTestEngine(
            """
            workers: 2
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            admin:
              listen: "127.0.0.1:\(adminPort)"
              keys:
                - {key: "\(adminKey)", role: admin}
                - {key: "\(viewerKey)", role: viewer}
              data_path: "\(dataPath)"
            routes:
              - id: file-route
                uri: /file
                plugins: {mocking: {response_status: 200, response_example: "from the file"}}

            """ + extra
        )
    }

    struct Admin {
        let port: Int
        let directory: URL

        /// curl as APISIX's documentation writes it: `-H "X-API-KEY: ..." -X METHOD -d 'JSON'`.
        func curl(
            _ method: String,
            _ path: String,
            _ body: String? = nil,
            key: String? = AdminAPIIntegrationTests.adminKey
        ) async throws -> CurlResult {
            var arguments = ["-X", method]
            if let key { arguments += ["-H", "X-API-KEY: \(key)"] }
            if let body { arguments += ["-d", body] }
            return try await Curl.run("http://127.0.0.1:\(port)/apisix/admin\(path)", arguments, in: directory)
        }
    }

    static func startGateway(
        in directory: URL,
        dataPath: String,
        extra: String = ""
    ) async throws -> (GatewayProcess, Admin) {
        var adminPort = 0
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            adminPort = (try? Loopback.unusedPort()) ?? 0
            return yaml(controlPort: controlPort, adminPort: adminPort, dataPath: dataPath, extra: extra)
        }
        return (gateway, Admin(port: adminPort, directory: directory))
    }

    @Test(
        "APISIX's curl examples: an upstream, a route, a consumer with keys and a key-auth route created over the API are served"
    )
    func documentedExamples() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("admin-examples")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory, arguments: ["--nodelay"])
        let dataPath = directory.appendingPathComponent("data/resources.json").path
        let (gateway, admin) = try await Self.startGateway(in: directory, dataPath: dataPath)
        do {
            // From APISIX's Admin API documentation, with host, port and key changed.
            let created = try await admin.curl(
                "PUT",
                "/upstreams/1",
                #"{"type": "roundrobin", "nodes": {"127.0.0.1:\#(upstream.port)": 1}}"#
            )
            #expect(created.status == 201, "\(created.bodyString)")
            let envelope = try created.jsonObject()
            #expect(envelope["key"] as? String == "/apisix/upstreams/1")
            let route = try await admin.curl("PUT", "/routes/1", #"{"uri": "/whoami", "upstream_id": "1"}"#)
            #expect(route.status == 201, "\(route.bodyString)")
            let served = try await eventually(timeout: .seconds(10)) {
                try await RawConnection.request(port: gateway.port, "/whoami").status == 200
            }
            #expect(served, "the route created over the API is not served")
            let answered = try await RawConnection.request(port: gateway.port, "/whoami").jsonObject()
            #expect(answered["port"] as? Int == upstream.port)

            // APISIX's key-auth examples: a consumer with a key (inline and as a credential), a route
            // that asks for it.
            let consumer = try await admin.curl(
                "PUT",
                "/consumers",
                #"{"username": "jack", "plugins": {"key-auth": {"key": "auth-one"}}}"#
            )
            #expect(consumer.status == 201, "\(consumer.bodyString)")
            let credential = try await admin.curl(
                "PUT",
                "/consumers/jack/credentials/cred-jack-key-auth",
                #"{"plugins": {"key-auth": {"key": "jack-key"}}}"#
            )
            #expect(credential.status == 201, "\(credential.bodyString)")
            let keyAuth = try await admin.curl(
                "PUT",
                "/routes/2",
                #"{"methods": ["GET"], "uri": "/index.html", "plugins": {"key-auth": {}}, "upstream_id": "1"}"#
            )
            #expect(keyAuth.status == 201, "\(keyAuth.bodyString)")
            let guarded = try await eventually(timeout: .seconds(10)) {
                try await RawConnection.request(port: gateway.port, "/index.html").status == 401
            }
            #expect(guarded, "the key-auth route is not guarded")
            for key in ["auth-one", "jack-key"] {
                let allowed = try await Curl.run(
                    "http://127.0.0.1:\(gateway.port)/index.html",
                    ["-H", "apikey: \(key)"],
                    in: directory
                )
                // Past the key check the upstream answers (it has no /index.html).
                #expect(allowed.status == 404, "key \(key): \(allowed.bodyString)")
                #expect(!allowed.bodyString.contains("request_id"), "key \(key): \(allowed.bodyString)")
            }
            let unknownPlugin = try await admin.curl(
                "PUT",
                "/routes/3",
                #"{"uri": "/x", "plugins": {"key-auth": {"hedaer": "k"}}, "upstream_id": "1"}"#
            )
            #expect(unknownPlugin.status == 400)
            #expect(unknownPlugin.bodyString.contains("hedaer"), "\(unknownPlugin.bodyString)")
            #expect(try await admin.curl("DELETE", "/routes/2").status == 200)

            // Reads: the API's route and the file's, each saying where it came from.
            let list = try await admin.curl("GET", "/routes").jsonObject()
            #expect(list["total"] as? Int == 2, "\(list)")
            let one = try await admin.curl("GET", "/routes/1").jsonObject()
            #expect((one["value"] as? [String: Any])?["uri"] as? String == "/whoami")
            #expect(one["source"] as? String == "api")
            let fileRoute = try await admin.curl("GET", "/routes/file-route").jsonObject()
            #expect(fileRoute["source"] as? String == "file")
            let status = try await gateway.control("/status").jsonObject()
            let routes = status["routes"] as? [[String: Any]] ?? []
            let sources = Dictionary(
                uniqueKeysWithValues: routes.map { ($0["id"] as? String ?? "", $0["source"] as? String) }
            )
            #expect(sources == ["1": "api", "file-route": "file"], "\(routes)")
            let upstreams = status["upstreams"] as? [[String: Any]] ?? []
            #expect(upstreams.first { $0["id"] as? String == "1" }?["source"] as? String == "api")
            let readOnly = try await admin.curl("DELETE", "/routes/file-route")
            #expect(readOnly.status == 400)
            #expect(readOnly.bodyString.contains("defined in"), "\(readOnly.bodyString)")

            // Keys and roles.
            #expect(try await admin.curl("GET", "/routes", key: nil).status == 401)
            #expect(try await admin.curl("GET", "/routes", key: "wrong").status == 401)
            #expect(try await admin.curl("GET", "/routes", key: Self.viewerKey).status == 200)
            #expect(try await admin.curl("DELETE", "/routes/1", key: Self.viewerKey).status == 401)

            // A referenced upstream cannot go; PATCH changes one field of the route.
            #expect(try await admin.curl("DELETE", "/upstreams/1").status == 400)
            let patched = try await admin.curl("PATCH", "/routes/1", #"{"uri": "/status/*"}"#)
            #expect(patched.status == 200, "\(patched.bodyString)")
            let moved = try await eventually(timeout: .seconds(10)) {
                try await RawConnection.request(port: gateway.port, "/status/200").status == 200
            }
            #expect(moved)
            #expect(try await RawConnection.request(port: gateway.port, "/whoami").status == 404)

            // Every write went through the reload path: seven applied, the unknown key refused.
            let metrics = try await gateway.scrape().exposition
            #expect(metrics.value("gateway_config_reloads_total", ["result": "success"]) == 7)
            #expect(metrics.value("gateway_config_reloads_total", ["result": "failure"]) == 1)
        } catch {
            _ = await gateway.finish()
            await upstream.stop()
            throw error
        }
        #expect(await gateway.finish())

        // Restart: the API's resources come back from admin.data_path and are served.
        let (again, _) = try await Self.startGateway(in: directory, dataPath: dataPath)
        let response = try await RawConnection.request(port: again.port, "/status/200")
        #expect(response.status == 200, "after a restart: \(response.status) \(response.bodyString)")
        #expect(await again.finish())
        await upstream.stop()
    }

    @Test("kill -9 during a stream of writes: the store loads on restart, every route in it whole")
    func killDuringWrites() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("admin-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataPath = directory.appendingPathComponent("data/resources.json").path
        let (gateway, admin) = try await Self.startGateway(in: directory, dataPath: dataPath)
        // Writes go out one after another until the gateway is gone; it is killed once a few have been
        // acknowledged, so the kill lands in the middle of the stream. A write refused before the kill is
        // kept, so a failure says why instead of showing up as a stream that never got going.
        let acknowledged = LockedValue(0)
        let refusal = LockedValue<String?>(nil)
        let killed = LockedValue(false)
        let writer = Task {
            for index in 0..<200 {
                let body = #"{"uri": "/r\#(index)", "plugins": {"mocking": {"response_example": "\#(index)"}}}"#
                do {
                    let result = try await admin.curl("PUT", "/routes/r\(index)", body)
                    guard result.status == 201 else {
                        let reason = "PUT r\(index): \(result.status) \(result.stderr)"
                        if !killed.value { refusal.withLock { $0 = reason } }
                        break
                    }
                } catch {
                    if !killed.value { refusal.withLock { $0 = "PUT r\(index): \(error)" } }
                    break
                }
                acknowledged.withLock { $0 += 1 }
            }
        }
        // Each write is a whole validate-compile-publish plus a curl process: on a loaded machine a few
        // take seconds, so the wait is for a handful of writes, generously bounded.
        let someWritten = try await eventually(timeout: .seconds(180), interval: .milliseconds(50)) {
            acknowledged.value >= 5 || refusal.value != nil
        }
        killed.withLock { $0 = true }
        gateway.expectExit()
        gateway.process.signal(SIGKILL)
        await gateway.process.waitForExit(timeout: .seconds(10))
        await writer.value
        #expect(refusal.value == nil, "a write failed before the kill: \(refusal.value ?? "")")
        #expect(someWritten && acknowledged.value >= 5, "only \(acknowledged.value) writes acknowledged")
        let written = acknowledged.value

        let (again, restarted) = try await Self.startGateway(in: directory, dataPath: dataPath)
        let list = try await restarted.curl("GET", "/routes").jsonObject()
        let total = list["total"] as? Int ?? 0
        // The file's route plus every write that was acknowledged, and at most the one in flight.
        #expect(total >= written + 1 && total <= written + 2, "total \(total), acknowledged writes \(written)")
        for entry in list["list"] as? [[String: Any]] ?? [] {
            let value = entry["value"] as? [String: Any] ?? [:]
            #expect(value["uri"] is String, "a route came back incomplete: \(entry)")
        }
        let served = try await RawConnection.request(port: again.port, "/r0")
        #expect(served.status == 200)
        #expect(await again.finish())
    }

    /// File-defined resources of every kind /status lists besides routes and upstreams.
    static let fileResources = """
        services:
          - {id: file-service, plugins: {mocking: {response_status: 200, response_example: "service"}}}
        consumers:
          - {username: file-user, plugins: {key-auth: {key: "file-user-key"}}}
        credentials:
          - {id: file-cred, consumer: file-user, plugins: {key-auth: {key: "file-cred-key"}}}
        global_rules:
          - {id: file-rule, plugins: {response-rewrite: {headers: {set: {X-From-File: "1"}}}}}

        """

    /// The hash `gateway_config_info` shows with value 1 (nil unless exactly one), and the last reload's
    /// timestamp.
    static func configInfo(_ gateway: GatewayProcess) async throws -> (hash: String?, timestamp: Double?) {
        let metrics = try await gateway.scrape().exposition
        let current = metrics.samples("gateway_config_info").filter { $0.value == 1 }
        let hash = current.count == 1 ? current[0].labels["hash"] : nil
        return (hash, metrics.value("gateway_config_last_reload_success_timestamp_seconds"))
    }

    @Test(
        "/status says where services, consumers, credentials and global rules come from; gateway_config_info follows Admin API writes and is stable for identical content"
    )
    func statusSourcesAndConfigInfo() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("admin-status")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataPath = directory.appendingPathComponent("data/resources.json").path
        let (gateway, admin) = try await Self.startGateway(in: directory, dataPath: dataPath, extra: Self.fileResources)
        do {
            let started = try await Self.configInfo(gateway)
            let now = Date().timeIntervalSince1970
            let startedAt = try #require(started.timestamp, "no gateway_config_last_reload_success_timestamp_seconds")
            #expect(abs(startedAt - now) < 600, "not a plausible unix time: \(startedAt), now \(now)")
            let firstHash = try #require(started.hash, "no gateway_config_info series with value 1")
            #expect(firstHash.count == 16)

            let writes: [(path: String, body: String)] = [
                ("/services/api-service", #"{"plugins": {"mocking": {"response_example": "api service"}}}"#),
                ("/consumers", #"{"username": "api-user", "plugins": {"key-auth": {"key": "api-user-key"}}}"#),
                ("/consumers/api-user/credentials/api-cred", #"{"plugins": {"key-auth": {"key": "api-cred-key"}}}"#),
                ("/global_rules/api-rule", #"{"plugins": {"security-headers": {}}}"#),
            ]
            var previous = (hash: firstHash, timestamp: startedAt)
            var firstUpdate = 0
            for write in writes {
                let response = try await admin.curl("PUT", write.path, write.body)
                #expect(response.status == 201, "\(write.path): \(response.bodyString)")
                if firstUpdate == 0 {
                    firstUpdate = (try response.jsonObject()["value"] as? [String: Any])?["update_time"] as? Int ?? 0
                }
                // Each write is a reload: a new effective configuration, a later success timestamp.
                var info = try await Self.configInfo(gateway)
                let moved = try await eventually(timeout: .seconds(10)) {
                    info = try await Self.configInfo(gateway)
                    return info.hash != nil && info.hash != previous.hash
                }
                #expect(moved, "\(write.path): gateway_config_info stayed at \(previous.hash)")
                let timestamp = info.timestamp ?? 0
                #expect(timestamp > previous.timestamp, "\(write.path): the reload timestamp did not advance")
                #expect(abs(timestamp - Date().timeIntervalSince1970) < 600, "not a plausible unix time: \(timestamp)")
                previous = (info.hash ?? "", timestamp)
            }

            let status = try await gateway.control("/status").jsonObject()
            #expect((status["config"] as? [String: Any])?["hash"] as? String == previous.hash)
            func sources(_ key: String, id: String = "id") -> [String: String] {
                var result: [String: String] = [:]
                for entry in status[key] as? [[String: Any]] ?? [] {
                    result[entry[id] as? String ?? "?"] = entry["source"] as? String ?? "?"
                }
                return result
            }
            #expect(sources("services") == ["file-service": "file", "api-service": "api"], "\(status)")
            #expect(sources("consumers", id: "username") == ["file-user": "file", "api-user": "api"], "\(status)")
            #expect(sources("global_rules") == ["file-rule": "file", "api-rule": "api"], "\(status)")
            #expect(sources("ssls").isEmpty, "\(status)")
            let consumers = status["consumers"] as? [[String: Any]] ?? []
            func credentials(of user: String) -> [[String: String]] {
                let consumer = consumers.first { $0["username"] as? String == user }
                return consumer?["credentials"] as? [[String: String]] ?? []
            }
            #expect(credentials(of: "file-user") == [["id": "file-cred", "source": "file"]], "\(consumers)")
            #expect(credentials(of: "api-user") == [["id": "api-cred", "source": "api"]], "\(consumers)")
            let statusText = try await gateway.control("/status").bodyString
            for secret in ["file-user-key", "file-cred-key", "api-user-key", "api-cred-key"] {
                #expect(!statusText.contains(secret), "/status shows a consumer's key")
            }

            // The same content written again, a second later (another update_time), is a reload
            // (generation + 1) with the same hash.
            let generation = (status["config"] as? [String: Any])?["generation"] as? Int ?? -1
            let nextSecond = try await eventually(timeout: .seconds(5)) {
                Int(Date().timeIntervalSince1970) > firstUpdate
            }
            #expect(nextSecond)
            let again = try await admin.curl("PUT", writes[0].path, writes[0].body)
            #expect(again.status == 200, "\(again.bodyString)")
            let update = (try again.jsonObject()["value"] as? [String: Any])?["update_time"] as? Int ?? 0
            #expect(firstUpdate > 0 && update > firstUpdate, "update_time \(firstUpdate) then \(update)")
            let reloaded = try await eventually(timeout: .seconds(10)) {
                let config = try await gateway.control("/status").jsonObject()["config"] as? [String: Any]
                return config?["generation"] as? Int ?? -1 > generation
            }
            #expect(reloaded)
            #expect(try await Self.configInfo(gateway).hash == previous.hash, "identical content, another hash")
        } catch {
            _ = await gateway.finish()
            throw error
        }
        #expect(await gateway.finish())
    }
}
