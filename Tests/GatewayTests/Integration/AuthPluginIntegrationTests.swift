import Foundation
import TestSupport
import Testing

/// Authentication plugins through a running gateway: keys, passwords, consumers, restrictions, and
/// what a rejection looks like to a client, in the metrics and in the access log.
@Suite("Integration: authentication plugins")
struct AuthPluginIntegrationTests {
    static func yaml(upstreamPort: Int, controlPort: Int, logPath: String) -> String {
        IntegrationEnvironment.withTestEngine(
            """
            workers: 2
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            access_log: {enabled: true, path: "\(logPath)", format: json, compression: none, flush_interval: 0.1}
            metrics: {consumer_label: true}
            upstreams:
              - id: backend
                nodes: {"127.0.0.1:\(upstreamPort)": 1}
            consumers:
              - username: jack
                plugins:
                  key-auth: {key: jack-key}
                  basic-auth: {username: jack, password: "s3cret:with colon"}
              - username: rose
                plugins:
                  basic-auth: {username: rose, password: rose-pass}
            credentials:
              - {id: rose-key, consumer: rose, plugins: {key-auth: {key: rose-key}}}
            routes:
              - id: keyed
                uri: /keyed/*
                upstream_id: backend
                plugins:
                  key-auth: {}
              - id: hidden
                uri: /hidden/*
                upstream_id: backend
                plugins:
                  key-auth: {header: X-Api-Key, query: token, hide_credentials: true}
              - id: basic
                uri: /basic/*
                upstream_id: backend
                plugins:
                  basic-auth: {}
              - id: jack-only
                uri: /jack/*
                upstream_id: backend
                plugins:
                  key-auth: {}
                  consumer-restriction: {whitelist: [jack]}

            """
        )
    }

    /// The upstream and the gateway of ``yaml(upstreamPort:controlPort:logPath:)``, stopped after `body`.
    static func withGateway(
        _ label: String,
        _ body: (GatewayProcess, URL, String) async throws -> Void
    ) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let logPath = directory.appendingPathComponent("access.log").path
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            Self.yaml(upstreamPort: upstream.port, controlPort: controlPort, logPath: logPath)
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(gateway, directory, logPath)
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }

    @Test(
        "key-auth: header or query, missing and wrong keys get APISIX's 401s, hidden credentials never reach the upstream"
    )
    func keyAuth() async throws {
        try await Self.withGateway("key-auth") { gateway, directory, logPath in
            let url = gateway.url
            let missing = try await Curl.run("\(url)/keyed/headers", in: directory)
            #expect(missing.status == 401)
            let missingBody = try missing.jsonObject()
            #expect(missingBody["message"] as? String == "Missing API key in request")
            #expect((missingBody["request_id"] as? String)?.count == 32, "\(missingBody)")
            #expect(missing.header("X-Request-Id") == missingBody["request_id"] as? String)

            let wrong = try await Curl.run("\(url)/keyed/headers", ["-H", "apikey: nope"], in: directory)
            #expect(wrong.status == 401)
            #expect(try wrong.jsonObject()["message"] as? String == "Invalid API key in request")

            let byHeader = try await Curl.run("\(url)/keyed/headers", ["-H", "apikey: jack-key"], in: directory)
            #expect(byHeader.status == 200, "\(byHeader.bodyString)")
            // Without hide_credentials the key goes on to the upstream.
            let forwarded = HeaderIntegrationTests.upstreamHeaders(try byHeader.jsonObject())
            #expect(HeaderIntegrationTests.values(forwarded, "apikey") == ["jack-key"])

            let byQuery = try await Curl.run("\(url)/keyed/headers?apikey=rose-key&x=1", in: directory)
            #expect(byQuery.status == 200, "a key from a credential resource must work: \(byQuery.bodyString)")

            // hide_credentials: the header and the query argument the key came in are removed.
            let hiddenHeader = try await Curl.run(
                "\(url)/hidden/headers?keep=1",
                ["-H", "X-Api-Key: jack-key", "-H", "X-Other: kept"],
                in: directory
            )
            #expect(hiddenHeader.status == 200, "\(hiddenHeader.bodyString)")
            let hiddenJSON = try hiddenHeader.jsonObject()
            let hidden = HeaderIntegrationTests.upstreamHeaders(hiddenJSON)
            #expect(HeaderIntegrationTests.values(hidden, "X-Api-Key").isEmpty)
            #expect(HeaderIntegrationTests.values(hidden, "X-Other") == ["kept"])
            #expect(hiddenJSON["target"] as? String == "/hidden/headers?keep=1")
            let hiddenQuery = try await Curl.run("\(url)/hidden/headers?a=1&token=rose-key&b=", in: directory)
            #expect(hiddenQuery.status == 200, "\(hiddenQuery.bodyString)")
            #expect(try hiddenQuery.jsonObject()["target"] as? String == "/hidden/headers?a=1&b=")

            // Rejections are counted by route, plugin and code.
            let counted = try await eventually(timeout: .seconds(10)) {
                let (_, exposition) = try await gateway.scrape()
                return exposition.value(
                    "gateway_plugin_rejections_total",
                    ["route": "keyed", "plugin": "key-auth", "code": "401"]
                ) == 2
            }
            #expect(counted, "gateway_plugin_rejections_total did not count the two 401s")
            // metrics.consumer_label: requests carry their consumer, or the empty value without one.
            let (_, exposition) = try await gateway.scrape()
            let jack = exposition.value(
                "gateway_http_requests_total",
                ["route": "keyed", "method": "GET", "code": "200", "consumer": "jack"]
            )
            #expect(jack == 1)
            let anonymous = exposition.value(
                "gateway_http_requests_total",
                ["route": "keyed", "method": "GET", "code": "401", "consumer": ""]
            )
            #expect(anonymous == 2)

            // The access log names the consumer and the rejecting plugin.
            let logged = try await eventually(timeout: .seconds(10)) {
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                return text.contains("\"rejected_by\":\"key-auth\"") && text.contains("\"consumer\":\"rose\"")
            }
            #expect(logged, "access log lacks consumer / rejected_by")
        }
    }

    @Test("basic-auth and consumer-restriction: passwords, challenges and a whitelist")
    func basicAuthAndRestriction() async throws {
        try await Self.withGateway("basic-auth") { gateway, directory, _ in
            let url = gateway.url
            let missing = try await Curl.run("\(url)/basic/whoami", in: directory)
            #expect(missing.status == 401)
            #expect(try missing.jsonObject()["message"] as? String == "Missing authorization in request")
            #expect(missing.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
            let right = try await Curl.run("\(url)/basic/whoami", ["-u", "jack:s3cret:with colon"], in: directory)
            #expect(right.status == 200, "\(right.bodyString)")
            let rose = try await Curl.run("\(url)/basic/whoami", ["-u", "rose:rose-pass"], in: directory)
            #expect(rose.status == 200)
            let wrong = try await Curl.run("\(url)/basic/whoami", ["-u", "rose:jack"], in: directory)
            #expect(wrong.status == 401)
            #expect(try wrong.jsonObject()["message"] as? String == "Invalid user authorization")
            let unknown = try await Curl.run("\(url)/basic/whoami", ["-u", "nobody:x"], in: directory)
            #expect(unknown.status == 401)
            let garbage = try await Curl.run("\(url)/basic/whoami", ["-H", "Authorization: Basic !!!"], in: directory)
            #expect(garbage.status == 401)
            #expect(try garbage.jsonObject()["message"] as? String == "Invalid authorization in request")

            let jack = try await Curl.run("\(url)/jack/whoami", ["-H", "apikey: jack-key"], in: directory)
            #expect(jack.status == 200, "\(jack.bodyString)")
            let roseDenied = try await Curl.run("\(url)/jack/whoami", ["-H", "apikey: rose-key"], in: directory)
            #expect(roseDenied.status == 403)
            #expect(try roseDenied.jsonObject()["message"] as? String == "The consumer_name is forbidden.")
        }
    }
}
