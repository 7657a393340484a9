import Testing

@testable import Gateway

@Suite struct ConfigValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var yaml: String
        /// Every one of these must be the path of some issue.
        var paths: [String]
        /// Text the first issue at `paths[0]` must contain.
        var reason: String
        var line: Int?

        var testDescription: String { name }
    }

    static let upstream = """
        upstreams:
          - id: backend
            nodes: {"127.0.0.1:9001": 1}
        """

    static let cases: [Case] = [
        Case(
            name: "yaml syntax",
            yaml: "routes: [\n  - id: x\n",
            paths: ["(yaml)"],
            reason: "did not find expected",
            line: nil
        ),
        Case(
            name: "duplicate yaml key",
            yaml: "workers: 1\nworkers: 2\n",
            paths: ["(yaml)"],
            reason: "duplicate key",
            line: nil
        ),
        Case(name: "empty document", yaml: "", paths: ["(root)"], reason: "empty", line: nil),
        Case(name: "root not a mapping", yaml: "- a\n", paths: ["(root)"], reason: "expected a mapping", line: 1),
        Case(name: "unknown top key", yaml: "lisen: x\n", paths: ["lisen"], reason: "did you mean \"listen\"", line: 1),
        Case(name: "negative workers", yaml: "workers: -1\n", paths: ["workers"], reason: "from 0 to 4096", line: 1),
        Case(
            name: "workers wrong type",
            yaml: "workers: many\n",
            paths: ["workers"],
            reason: "expected an integer",
            line: 1
        ),
        Case(
            name: "bad listen port",
            yaml: "listen: \"127.0.0.1:70000\"\n",
            paths: ["listen"],
            reason: "65535",
            line: 1
        ),
        Case(
            name: "listen list item",
            yaml: "listen: [\"127.0.0.1:80\", \"example.com:80\"]\n",
            paths: ["listen[1]"],
            reason: "IPv4 or IPv6",
            line: 1
        ),
        Case(name: "unbracketed ipv6", yaml: "listen: \"::1:80\"\n", paths: ["listen"], reason: "brackets", line: 1),
        Case(name: "listen without port", yaml: "listen: 127.0.0.1\n", paths: ["listen"], reason: "no port", line: 1),
        Case(
            name: "control same as listen",
            yaml: "listen: \"127.0.0.1:80\"\ncontrol: {listen: \"127.0.0.1:80\"}\n",
            paths: ["control.listen"],
            reason: "already",
            line: 2
        ),
        Case(
            name: "access log format",
            yaml: "access_log: {format: xml}\n",
            paths: ["access_log.format"],
            reason: "\"json\"",
            line: 1
        ),
        Case(
            name: "access log unknown key",
            yaml: "access_log: {pth: x}\n",
            paths: ["access_log.pth"],
            reason: "did you mean \"path\"",
            line: 1
        ),
        Case(
            name: "zero duration",
            yaml: "limits: {header_timeout: 0}\n",
            paths: ["limits.header_timeout"],
            reason: "more than zero",
            line: 1
        ),
        Case(
            name: "negative duration",
            yaml: "limits:\n  keepalive_timeout: -5\n",
            paths: ["limits.keepalive_timeout"],
            reason: "more than zero",
            line: 2
        ),
        Case(
            name: "bad size",
            yaml: "limits: {client_max_body_size: 10x}\n",
            paths: ["limits.client_max_body_size"],
            reason: "size in bytes",
            line: 1
        ),
        Case(
            name: "bool as duration",
            yaml: "shutdown: {drain_timeout: true}\n",
            paths: ["shutdown.drain_timeout"],
            reason: "duration",
            line: 1
        ),
        Case(
            name: "upstream without id",
            yaml: "upstreams:\n  - nodes: {\"127.0.0.1:1\": 1}\n",
            paths: ["upstreams[0].id"],
            reason: "required",
            line: 2
        ),
        Case(
            name: "duplicate upstream id",
            yaml: upstream + "\n  - id: backend\n    nodes: {\"127.0.0.1:2\": 1}\n",
            paths: ["upstreams[1].id"],
            reason: "duplicate upstream id",
            line: 4
        ),
        Case(
            name: "chash on a header needs a key",
            yaml: "upstreams:\n  - id: a\n    type: chash\n    hash_on: header\n    nodes: {\"127.0.0.1:1\": 1}\n",
            paths: ["upstreams[0].key"],
            reason: "required",
            line: 2
        ),
        Case(
            name: "unknown balancer",
            yaml: "upstreams:\n  - id: a\n    type: random\n    nodes: {\"127.0.0.1:1\": 1}\n",
            paths: ["upstreams[0].type"],
            reason: "roundrobin",
            line: 3
        ),
        Case(
            name: "missing nodes",
            yaml: "upstreams:\n  - id: a\n",
            paths: ["upstreams[0].nodes"],
            reason: "required",
            line: 2
        ),
        Case(
            name: "no nodes",
            yaml: "upstreams:\n  - id: a\n    nodes: {}\n",
            paths: ["upstreams[0].nodes"],
            reason: "at least one node",
            line: 3
        ),
        Case(
            name: "bad node address",
            yaml: "upstreams:\n  - id: a\n    nodes: {\"bad host:80\": 1}\n",
            paths: ["upstreams[0].nodes[\"bad host:80\"]"],
            reason: "not an IP address or host name",
            line: 3
        ),
        Case(
            name: "bad node weight",
            yaml: "upstreams:\n  - id: a\n    nodes: {\"127.0.0.1:80\": -2}\n",
            paths: ["upstreams[0].nodes[\"127.0.0.1:80\"]"],
            reason: "from 0 to",
            line: 3
        ),
        Case(
            name: "node list missing host",
            yaml: "upstreams:\n  - id: a\n    nodes: [{port: 80, weight: 1}]\n",
            paths: ["upstreams[0].nodes[0].host"],
            reason: "required",
            line: 3
        ),
        Case(
            name: "unresolvable node",
            yaml: "upstreams:\n  - id: a\n    nodes: {\"no-such-host.invalid:80\": 1}\n",
            paths: ["upstreams[0].nodes[\"no-such-host.invalid:80\"]"],
            reason: "cannot resolve",
            line: 3
        ),
        Case(
            name: "rewrite without host",
            yaml: "upstreams:\n  - id: a\n    nodes: {\"127.0.0.1:1\": 1}\n    pass_host: rewrite\n",
            paths: ["upstreams[0].upstream_host"],
            reason: "required",
            line: 2
        ),
        Case(
            name: "negative pool size",
            yaml: "upstreams:\n  - id: a\n    nodes: {\"127.0.0.1:1\": 1}\n    keepalive_pool: {size: -1}\n",
            paths: ["upstreams[0].keepalive_pool.size"],
            reason: "from 0",
            line: 4
        ),
        Case(
            name: "route unknown upstream",
            yaml: upstream + "\nroutes:\n  - id: r\n    uri: /\n    upstream_id: backnd\n",
            paths: ["routes[0].upstream_id"],
            reason: "no upstream has id \"backnd\"",
            line: 7
        ),
        Case(
            name: "route without target",
            yaml: "routes:\n  - id: r\n    uri: /\n",
            paths: ["routes[0]"],
            reason: "needs upstream_id",
            line: 2
        ),
        Case(
            name: "route without id",
            yaml: upstream + "\nroutes:\n  - uri: /\n    upstream_id: backend\n",
            paths: ["routes[0].id"],
            reason: "required",
            line: 5
        ),
        Case(
            name: "duplicate route id",
            yaml: upstream
                + "\nroutes:\n  - {id: r, uri: /a, upstream_id: backend}\n  - {id: r, uri: /b, upstream_id: backend}\n",
            paths: ["routes[1].id"],
            reason: "duplicate route id",
            line: 6
        ),
        Case(
            name: "route id charset",
            yaml: upstream + "\nroutes:\n  - {id: \"a b\", uri: /a, upstream_id: backend}\n",
            paths: ["routes[0].id"],
            reason: "letters, digits",
            line: 5
        ),
        Case(
            name: "uri without slash",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: api, upstream_id: backend}\n",
            paths: ["routes[0].uri"],
            reason: "start with \"/\"",
            line: 5
        ),
        Case(
            name: "star in the middle",
            yaml: upstream + "\nroutes:\n  - {id: r, uris: [/a, \"/a/*/b\"], upstream_id: backend}\n",
            paths: ["routes[0].uris[1]"],
            reason: "last segment",
            line: 5
        ),
        Case(
            name: "star inside a segment",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: \"/api*\", upstream_id: backend}\n",
            paths: ["routes[0].uri"],
            reason: "whole segment",
            line: 5
        ),
        Case(
            name: "empty param name",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: \"/u/:\", upstream_id: backend}\n",
            paths: ["routes[0].uri"],
            reason: "parameter",
            line: 5
        ),
        Case(
            name: "uri with query",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: \"/a?b\", upstream_id: backend}\n",
            paths: ["routes[0].uri"],
            reason: "query",
            line: 5
        ),
        Case(
            name: "missing uris",
            yaml: upstream + "\nroutes:\n  - {id: r, upstream_id: backend}\n",
            paths: ["routes[0].uris"],
            reason: "required",
            line: 5
        ),
        Case(
            name: "uri and uris",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /a, uris: [/b], upstream_id: backend}\n",
            paths: ["routes[0].uri"],
            reason: "either",
            line: 5
        ),
        Case(
            name: "bad wildcard host",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /, hosts: [\"a.*.com\"], upstream_id: backend}\n",
            paths: ["routes[0].hosts[0]"],
            reason: "first label",
            line: 5
        ),
        Case(
            name: "host with port",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /, host: \"a.com:80\", upstream_id: backend}\n",
            paths: ["routes[0].host"],
            reason: "port",
            line: 5
        ),
        Case(
            name: "lower-case method",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /, methods: [GET, get], upstream_id: backend}\n",
            paths: ["routes[0].methods[1]"],
            reason: "upper case",
            line: 5
        ),
        Case(
            name: "unknown plugin",
            yaml: "routes:\n  - id: r\n    uri: /\n    plugins:\n      rate-limiter: {count: 1}\n",
            paths: ["routes[0].plugins.rate-limiter"],
            reason: "unknown plugin",
            line: 5
        ),
        Case(
            name: "plugin setting",
            yaml: "routes:\n  - id: r\n    uri: /\n    plugins:\n      limit-count: {count: 0, time_window: 60}\n",
            paths: ["routes[0].plugins.limit-count.count"],
            reason: "must be from 1 to",
            line: 5
        ),
        Case(
            name: "mocking status",
            yaml: "routes:\n  - id: r\n    uri: /\n    plugins: {mocking: {response_status: 99}}\n",
            paths: ["routes[0].plugins.mocking.response_status"],
            reason: "from 100 to 599",
            line: 4
        ),
        Case(
            name: "route status",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /, status: 2, upstream_id: backend}\n",
            paths: ["routes[0].status"],
            reason: "from 0 to 1",
            line: 5
        ),
        Case(
            name: "inline upstream with id",
            yaml: "routes:\n  - id: r\n    uri: /\n    upstream: {id: x, nodes: {\"127.0.0.1:1\": 1}}\n",
            paths: ["routes[0].upstream.id"],
            reason: "route:r",
            line: 4
        ),
        Case(
            name: "inline upstream bad node",
            yaml: "routes:\n  - id: r\n    uri: /\n    upstream:\n      nodes: {\"127.0.0.1:0\": 1}\n",
            paths: ["routes[0].upstream.nodes[\"127.0.0.1:0\"]"],
            reason: "1 to 65535",
            line: 5
        ),
        Case(
            name: "unknown route key",
            yaml: upstream + "\nroutes:\n  - {id: r, uri: /, upstream_id: backend, prority: 2}\n",
            paths: ["routes[0].prority"],
            reason: "did you mean \"priority\"",
            line: 5
        ),
    ]

    @Test(arguments: cases) func namesThePath(_ testCase: Case) throws {
        do {
            _ = try ConfigLoader.parse(yaml: testCase.yaml, sourceName: testCase.name)
            Issue.record("expected an error")
        } catch {
            let paths = error.issues.map(\.path)
            for path in testCase.paths {
                #expect(paths.contains(path), "issues: \(error.description)")
            }
            let issue = try #require(error.issues.first { $0.path == testCase.paths[0] })
            #expect(issue.reason.contains(testCase.reason), "\(issue)")
            if let line = testCase.line {
                #expect(issue.line == line, "\(issue)")
            }
            #expect(error.description.contains("\(issue.path): "))
        }
    }

    @Test func syntaxErrorsCarryLineAndColumn() throws {
        do {
            _ = try ConfigLoader.parse(yaml: "routes:\n  - id: a\n   bad: [\n", sourceName: "s")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .syntax)
            let issue = try #require(error.issues.first)
            #expect(issue.line != nil && issue.column != nil)
            #expect(error.description.contains("line"))
        }
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let yaml = """
            workers: -3
            listen: "nope"
            upstreams:
              - id: a
                nodes: {"127.0.0.1:1": -1}
            routes:
              - id: r
                uri: "x"
                upstream_id: missing
            """
        do {
            _ = try ConfigLoader.parse(yaml: yaml, sourceName: "many")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalid)
            #expect(
                error.issues.map(\.path) == [
                    "workers", "listen", "upstreams[0].nodes[\"127.0.0.1:1\"]", "routes[0].uri",
                    "routes[0].upstream_id",
                ]
            )
            #expect(error.issues.map(\.line) == [1, 2, 5, 8, 9])
            #expect(error.description.split(separator: "\n").count == 5)
        }
    }

    @Test func harmlessAPISIXKeysAreAccepted() throws {
        let yaml = """
            upstreams:
              - {id: a, name: A, desc: d, labels: {env: prod}, nodes: {"127.0.0.1:1": 1}}
            routes:
              - {id: r, name: R, desc: d, labels: {v: "1"}, uri: /, upstream_id: a}
            """
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "apisix")
        #expect(config.routes.count == 1)
    }

    @Test func listenAddressForms() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8080") == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(try ListenAddress(parsing: "0.0.0.0:80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(try ListenAddress(parsing: "[::1]:8080") == ListenAddress(host: "::1", port: 8080))
        #expect(try ListenAddress(parsing: ":8080") == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(try ListenAddress(parsing: "localhost:0") == ListenAddress(host: "localhost", port: 0))
        #expect(throws: AddressError.self) { try ListenAddress(parsing: "example.com:80") }
        #expect(throws: AddressError.self) { try ListenAddress(parsing: "[::1]") }
        #expect(throws: AddressError.self) { try ListenAddress(parsing: "1.2.3.4:-1") }
    }
}
