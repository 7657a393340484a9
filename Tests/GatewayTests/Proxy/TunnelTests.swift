import Glibc
import Testing

@testable import Gateway

/// Upgrade tunnels without sockets: the machines' tunnel transitions, the upgrade rules, the heads, and
/// the route keys through the config reader into the plan.
@Suite("Upgrade tunnels")
struct TunnelTests {
    // MARK: - Machines

    @Test func aTunnelClientSendLetsTheUpstreamBeReadAgain() {
        var client = ClientConnection()
        client.state = .tunneling
        client.upstream = 3
        client.outputSource = .provided
        client.outputLength = 500
        client.sending = true
        #expect(client.sendCompleted(result: 200) == .send)
        #expect(client.sendCompleted(result: 300) == .outputSent(then: .resumeTunnel))
        #expect(client.sendCompleted(result: -EPIPE) == .close(timeout: nil))
        client.deadline = .tunnelIdle
        #expect(client.deadlineReached() == .tunnelIdle)
        #expect(client.deadline == .none)
        #expect(client.receiveCompleted(result: 0, buffer: 0) == .close(timeout: nil))
    }

    @Test func aTunnelEndsWithItsUpstreamAndNeverTimesOutOnReads() {
        var upstream = UpstreamConnection()
        upstream.state = .tunneling
        upstream.client = 2
        #expect(upstream.isConnected && upstream.responseStarted)
        #expect(upstream.ended(error: 0) == .cutClient)
        #expect(upstream.ended(error: -ECONNRESET) == .cutClient)
        upstream.receiving = true
        #expect(upstream.receiveCompleted(result: 0, buffer: 0, clientSending: false) == .cutClient)
        upstream.sending = true
        #expect(upstream.sendCompleted(result: -EPIPE) == .cutClient)
        upstream.deadline = .read
        #expect(upstream.deadlineReached() == UpstreamAction.none)
        upstream.deadline = .send
        #expect(upstream.deadlineReached() == .fail(.sendTimeout, mayRetry: false))
        // Bytes received while the client is still being sent wait for that send.
        #expect(upstream.receiveCompleted(result: 10, buffer: 4, clientSending: true) == UpstreamAction.none)
        #expect(upstream.pendingBuffer == 4 && upstream.pendingLength == 10)
    }

    // MARK: - Upgrade rules

    private func allowed(_ value: String, _ list: String) -> Bool {
        Array(value.utf8).withUnsafeBytes { value in
            Array(list.utf8).withUnsafeBytes { HTTPUpgrade.tokensAllowed(value, $0) }
        }
    }

    @Test func everyRequestedProtocolMustBeAllowed() {
        #expect(allowed("websocket", "websocket"))
        #expect(allowed("WebSocket", "websocket"))
        #expect(allowed(" websocket ", "websocket,h2c"))
        #expect(allowed("h2c, websocket", "websocket,h2c"))
        #expect(!allowed("h2c", "websocket"))
        #expect(!allowed("websocket, h2c", "websocket"))
        #expect(!allowed("websock", "websocket"))
        #expect(!allowed("", "websocket"))
        #expect(!allowed(" , ", "websocket"))
    }

    // MARK: - Heads

    @Test func theUpstreamRequestKeepsAnAllowedUpgrade() throws {
        let raw =
            "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n"
        let forwarded = try #require(try upstream(raw, upgrade: true))
        #expect(forwarded.contains("\r\nUpgrade: websocket\r\n"))
        #expect(forwarded.contains("\r\nConnection: Upgrade\r\n"))
        #expect(forwarded.contains("\r\nSec-WebSocket-Key: k\r\n"))
        let stripped = try #require(try upstream(raw, upgrade: false))
        #expect(!stripped.lowercased().contains("upgrade"))
        #expect(stripped.contains("\r\nSec-WebSocket-Key: k\r\n"))
    }

    @Test func theClientsSwitchingProtocolsKeepsUpgradeAndAccept() throws {
        let bytes = HTTPTest.bytes(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"
        )
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes, headers: headers)))
        #expect(head.status == 101 && !head.isInformational)
        var output = [UInt8](repeating: 0, count: 1024)
        let written = bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var writer = HTTPHeadWriter(out)
                let ok = Array("id".utf8).withUnsafeBytes { id in
                    HTTPProxyHeads.writeDownstreamResponse(
                        head: head,
                        source: source,
                        headers: headers,
                        requestID: id,
                        clientVersionMinor: 1,
                        closeAfter: false,
                        upgrade: true,
                        into: &writer
                    )
                }
                return ok ? String(decoding: writer.written, as: UTF8.self) : ""
            }
        }
        #expect(written.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(written.contains("\r\nUpgrade: websocket\r\n"))
        #expect(written.contains("\r\nSec-WebSocket-Accept: x\r\n"))
        #expect(written.contains("\r\nConnection: Upgrade\r\n"))
        #expect(!written.contains("close"))
    }

    private func upstream(_ raw: String, upgrade: Bool) throws -> String? {
        let bytes = HTTPTest.bytes(raw)
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(bytes, headers: headers)))
        var output = [UInt8](repeating: 0, count: 4096)
        return bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var writer = HTTPHeadWriter(out)
                let ok = Array("192.0.2.1".utf8).withUnsafeBytes { client in
                    Array("id".utf8).withUnsafeBytes { id in
                        HTTPProxyHeads.writeUpstreamRequest(
                            head: head,
                            source: source,
                            headers: headers,
                            hostOverride: nil,
                            clientAddress: client,
                            proto: "http",
                            requestID: id,
                            upgrade: upgrade,
                            into: &writer
                        )
                    }
                }
                return ok ? String(decoding: writer.written, as: UTF8.self) : nil
            }
        }
    }

    // MARK: - Configuration

    static let upstreams = "upstreams:\n  - id: backend\n    nodes: {\"127.0.0.1:9001\": 1}\n    timeout: {read: 7}\n"

    @Test func theRouteKeysReachThePlan() throws {
        let yaml =
            Self.upstreams + """
                routes:
                  - id: sockets
                    uri: /ws
                    upstream_id: backend
                    enable_websocket: true
                    upgrade_protocols: [H2C, h2c]
                    websocket_idle_timeout: 90
                  - id: plain
                    uri: /
                    upstream_id: backend

                """
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "test", resolveHostnames: false)
        let sockets = try #require(config.routes.first { $0.id == "sockets" })
        #expect(sockets.enableWebSocket)
        #expect(sockets.upgradeProtocols == ["h2c"])
        #expect(sockets.websocketIdleTimeout == .seconds(90))
        let plan = try ProxyPlan(config: config)
        let routes = (0..<plan.routeCount).map { (plan.routeIDs[$0], plan.routes[$0]) }
        let compiled = try #require(routes.first { $0.0 == "sockets" }?.1)
        #expect(Array(plan.arena(compiled.upgradeOffset, compiled.upgradeLength)) == Array("websocket,h2c".utf8))
        #expect(compiled.tunnelIdleTimeout == 90_000_000_000)
        let plain = try #require(routes.first { $0.0 == "plain" }?.1)
        #expect(plain.upgradeLength == 0 && plain.tunnelIdleTimeout == 0)
    }

    @Test(arguments: [
        ("enable_websocket: \"yes\"", "routes[0].enable_websocket"),
        ("upgrade_protocols: [\"h 2\"]", "routes[0].upgrade_protocols[0]"),
        ("websocket_idle_timeout: 0", "routes[0].websocket_idle_timeout"),
        ("websocket_idle_timout: 5", "routes[0].websocket_idle_timout"),
    ])
    func badRouteKeysAreNamed(_ line: String, _ path: String) throws {
        let yaml = Self.upstreams + "routes:\n  - id: r\n    uri: /\n    upstream_id: backend\n    \(line)\n"
        do {
            _ = try ConfigLoader.parse(yaml: yaml, sourceName: "test", resolveHostnames: false)
            Issue.record("expected an error for \(line)")
        } catch {
            #expect(error.issues.map(\.path).contains(path), "\(error.description)")
        }
    }
}
