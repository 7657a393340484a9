import Foundation
import TestSupport
import Testing

@testable import Gateway

@Suite struct ConfigLoaderTests {
    static let contract = """
        workers: 2                      # 0 = one per core
        listen: ["127.0.0.1:8080"]      # a single string is accepted too
        control:
          listen: "127.0.0.1:9091"      # /metrics /healthz /readyz /status
        access_log:
          enabled: true
          path: "logs/access.log.zst"
          format: json
        upstreams:
          - id: backend
            type: roundrobin
            nodes: {"127.0.0.1:9001": 1}
            timeout: {connect: 2, send: 10, read: 10}
            keepalive_pool: {size: 256, idle_timeout: 60, requests: 10000}
        routes:
          - id: api
            uris: ["/api/*"]
            methods: [GET, POST]
            hosts: ["api.example.com"]
            priority: 0
            upstream_id: backend        # or an inline `upstream:` object
        """

    @Test func contractParsesExactly() throws {
        let config = try ConfigLoader.parse(yaml: Self.contract, sourceName: "contract")
        #expect(config.workers == 2)
        #expect(config.listen == [ListenAddress(host: "127.0.0.1", port: 8080)])
        #expect(config.control.listen == ListenAddress(host: "127.0.0.1", port: 9091))
        #expect(config.accessLog.enabled)
        #expect(config.accessLog.path == "logs/access.log.zst")
        #expect(config.accessLog.format == .json)
        #expect(config.upstreams.count == 1)
        let upstream = try #require(config.upstreams.first)
        #expect(upstream.id == "backend")
        #expect(upstream.type == .roundrobin)
        #expect(upstream.nodes.map(\.address) == ["127.0.0.1:9001"])
        #expect(upstream.nodes.first?.host == "127.0.0.1")
        #expect(upstream.nodes.first?.port == 9001)
        #expect(upstream.nodes.first?.weight == 1)
        #expect(upstream.nodes.first?.resolved.map(\.description) == ["127.0.0.1:9001"])
        #expect(upstream.nodes.first?.resolved.first?.family == AF_INET)
        #expect(upstream.timeout.connect == .seconds(2))
        #expect(upstream.timeout.send == .seconds(10))
        #expect(upstream.timeout.read == .seconds(10))
        #expect(upstream.keepalivePool.size == 256)
        #expect(upstream.keepalivePool.idleTimeout == .seconds(60))
        #expect(upstream.keepalivePool.requests == 10000)
        var route = RouteConfig(id: "api", uris: ["/api/*"])
        route.methods = [.get, .post]
        route.hosts = ["api.example.com"]
        route.upstreamID = "backend"
        #expect(config.routes == [route])
        #expect(config.sourceName == "contract")
        #expect(config.sourceHash == FNV1a.hex(of: Self.contract.utf8))
        #expect(config.sourceHash.count == 16)
    }

    @Test func defaultsWhenSectionsAreAbsent() throws {
        let config = try ConfigLoader.parse(yaml: "routes: []", sourceName: "min")
        #expect(config.workers == 0)
        #expect(config.listen == [ListenAddress(host: "127.0.0.1", port: 8080)])
        #expect(config.control.listen == nil)
        #expect(config.accessLog == AccessLogSettings())
        #expect(!config.accessLog.enabled)
        #expect(config.limits == LimitsConfig())
        #expect(config.limits.maxRequestLineBytes == 8192)
        #expect(config.limits.maxHeaderBytes == 32768)
        #expect(config.limits.maxHeaderCount == 100)
        #expect(config.limits.headerTimeout == .seconds(10))
        #expect(config.limits.keepaliveTimeout == .seconds(75))
        #expect(config.limits.clientMaxBodySize == 0)
        #expect(config.limits.maxConnectionsPerWorker == 65536)
        #expect(config.shutdown.drainTimeout == .seconds(30))
        #expect(config.routes.isEmpty && config.upstreams.isEmpty)
    }

    @Test func fullConfigParsesToExpectedValues() throws {
        let yaml = """
            workers: 0
            listen: ":8080"
            control: {listen: "[::1]:9091"}
            access_log:
              path: /var/log/gw.log
              format: logfmt
              flush_interval: 0.25
              level: 7
              rotate_size: 100m
              rotate_age: 3600
              retain: 5
              compression: none
            limits:
              max_request_line: 4k
              max_header_size: 65536
              max_headers: 50
              header_timeout: 2.5
              keepalive_timeout: "500ms"
              body_timeout: 30
              send_timeout: 1m
              client_max_body_size: 10m
              max_connections: 1000
            shutdown: {drain_timeout: 0}
            upstreams:
              - id: web
                name: "Web tier"
                desc: "two nodes"
                labels: {team: edge}
                nodes:
                  - {host: 10.0.0.1, port: 8080, weight: 3}
                  - {host: "::1", port: 8081, weight: 0}
                  - {host: localhost, weight: 1}
                pass_host: rewrite
                upstream_host: internal.example
                retries: 2
                retry_timeout: 5
                scheme: http
            routes:
              - id: 1
                uri: /users/:id
                host: "*.Example.com"
                methods: GET
                priority: 10
                upstream_id: web
                client_max_body_size: 0
                status: 0
              - id: inline
                uris: ["/in/*"]
                upstream:
                  nodes: {"127.0.0.1:7000": 2, "[::1]:7001": 1}
                  pass_host: node
              - id: demo
                uri: /__demo
                plugins:
                  mocking:
                    response_status: 201
                    response_example: '{"ok":true}'
                    content_type: application/json
                    response_headers: {X-Demo: "yes", X-Count: 3}
            """
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "full")
        #expect(config.listen == [ListenAddress(host: "0.0.0.0", port: 8080)])
        #expect(config.control.listen == ListenAddress(host: "::1", port: 9091))
        #expect(config.control.listen?.description == "[::1]:9091")
        var log = AccessLogSettings()
        log.enabled = true
        log.path = "/var/log/gw.log"
        log.format = .logfmt
        log.flushInterval = .milliseconds(250)
        log.level = 7
        log.rotateSize = 100 << 20
        log.rotateAge = .seconds(3600)
        log.retain = 5
        log.compression = .none
        #expect(config.accessLog == log)
        var limits = LimitsConfig()
        limits.maxRequestLineBytes = 4096
        limits.maxHeaderBytes = 65536
        limits.maxHeaderCount = 50
        limits.headerTimeout = .milliseconds(2500)
        limits.keepaliveTimeout = .milliseconds(500)
        limits.clientBodyTimeout = .seconds(30)
        limits.sendTimeout = .seconds(60)
        limits.clientMaxBodySize = 10 << 20
        limits.maxConnectionsPerWorker = 1000
        #expect(config.limits == limits)
        #expect(config.shutdown.drainTimeout == .zero)

        #expect(config.upstreams.map(\.id) == ["web", "route:inline"])
        let web = config.upstreams[0]
        #expect(web.nodes.map(\.address) == ["10.0.0.1:8080", "[::1]:8081", "localhost:80"])
        #expect(web.nodes.map(\.weight) == [3, 0, 1])
        #expect(web.nodes[1].resolved.first?.family == AF_INET6)
        #expect(!web.nodes[2].resolved.isEmpty)
        #expect(web.passHost == .rewrite && web.upstreamHost == "internal.example")
        #expect(web.retries == 2 && web.retryTimeout == .seconds(5))
        #expect(web.sourcePath == "upstreams[0]")
        let inline = config.upstreams[1]
        #expect(inline.nodes.map(\.address) == ["127.0.0.1:7000", "[::1]:7001"])
        #expect(inline.nodes[1].host == "::1")
        #expect(inline.passHost == .node)
        #expect(inline.sourcePath == "routes[1].upstream")

        #expect(config.routes.map(\.id) == ["1", "inline", "demo"])
        let first = config.routes[0]
        #expect(first.uris == ["/users/:id"] && first.hosts == ["*.example.com"])
        #expect(first.methods == [.get] && first.priority == 10 && first.clientMaxBodySize == 0 && !first.enabled)
        #expect(config.routes[1].upstreamID == "route:inline")
        let demo = config.routes[2]
        #expect(demo.upstreamID == nil)
        var mock = MockResponse()
        mock.status = 201
        mock.body = #"{"ok":true}"#
        mock.contentType = "application/json"
        mock.headers = [.init(name: "X-Demo", value: "yes"), .init(name: "X-Count", value: "3")]
        #expect(demo.mocking == mock)
    }

    @Test func loadReadsFileAndHashesItsBytes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString).yaml").path
        try Data(Self.contract.utf8).writeTestFile(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(path: path)
        #expect(config.sourceName == path)
        #expect(config.sourceHash == FNV1a.hex(of: Self.contract.utf8))
    }

    @Test func missingFileIsUnreadable() {
        #expect {
            try ConfigLoader.load(path: "/nonexistent/gateway.yaml")
        } throws: { error in
            let error = error as? ConfigError
            return error?.code == .unreadable
                && error?.issues.first?.reason.contains("/nonexistent/gateway.yaml") == true
        }
    }

    @Test func shippedConfigsPassCheck() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for name in ["gateway.yaml", "apisix-style.yaml"] {
            let config = try ConfigLoader.load(path: root.appendingPathComponent("config/\(name)").path)
            #expect(!config.routes.isEmpty, "\(name)")
            _ = RouteTable(routes: config.routes)
        }
    }

    @Test func descriptionIsOneLinePerIssue() {
        let error = ConfigError(
            code: .invalid,
            issues: [
                ConfigIssue(path: "routes[1].upstream_id", line: 7, reason: "no upstream"),
                ConfigIssue(path: "(yaml)", line: 2, column: 5, reason: "bad"),
                ConfigIssue(path: "(file)", line: nil, reason: "cannot read"),
            ],
            sourceName: "x"
        )
        #expect(
            error.description
                == "routes[1].upstream_id: no upstream (line 7)\n(yaml): bad (line 2, column 5)\n(file): cannot read"
        )
    }
}
