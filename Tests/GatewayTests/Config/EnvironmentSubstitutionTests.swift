import Testing

@testable import Gateway

@Suite struct EnvironmentSubstitutionTests: EnvironmentConfigParsing {
    static let route = """
        routes:
          - id: api
            uri: /*
            upstream:
              nodes:
                - {host: "${BACKEND_HOST}", port: ${BACKEND_PORT}, weight: 1}
        """

    @Test func setVariablesAreSubstitutedAndPlainScalarsTypedAgain() throws {
        let yaml = "workers: ${WORKERS}\nlisten: ${LISTEN}\n" + Self.route
        let environment = [
            "WORKERS": "3", "LISTEN": "127.0.0.1:18080", "BACKEND_HOST": "10.0.0.7", "BACKEND_PORT": "81",
        ]
        let config = try Self.parse(yaml, environment)
        // `port: ${BACKEND_PORT}` is an integer, as `port: 81` would be; the reader rejects a string port.
        #expect(config.workers == 3)
        #expect(config.listen == [ListenAddress(host: "127.0.0.1", port: 18080)])
        let node = try #require(config.upstream(id: "route:api")?.nodes.first)
        #expect(node.host == "10.0.0.7")
        #expect(node.port == 81)
    }

    @Test func defaultsApplyWhenUnsetOrEmpty() throws {
        let yaml = "workers: ${WORKERS:-2}\nlog_level: ${LEVEL:-warning}\n" + Self.route
        let config = try Self.parse(yaml, ["LEVEL": "", "BACKEND_HOST": "127.0.0.1", "BACKEND_PORT": "9001"])
        #expect(config.workers == 2)
        #expect(config.logLevel == .warning)
        let set = try Self.parse(yaml, ["WORKERS": "5", "BACKEND_HOST": "127.0.0.1", "BACKEND_PORT": "9001"])
        #expect(set.workers == 5)
    }

    @Test func unsetVariableIsAnIssueNamingItAndTheKeyPath() {
        let issues = Self.issues(Self.route, ["BACKEND_PORT": "9001"])
        #expect(issues.count == 1)
        let issue = issues.first
        #expect(issue?.path == "routes[0].upstream.nodes[0].host")
        #expect(issue?.line == 6)
        #expect(issue?.reason.hasPrefix("environment variable BACKEND_HOST is not set") == true)
        #expect(
            issue?.description.hasPrefix(
                "routes[0].upstream.nodes[0].host: environment variable BACKEND_HOST is not set"
            ) == true
        )
    }

    @Test func everyUnsetVariableIsReportedOnceWithoutFollowUpIssues() {
        let yaml = "workers: ${W}\ncontrol: {listen: \"${HOST}:${PORT}\"}\n" + Self.route
        let issues = Self.issues(yaml, [:])
        // `workers: ${W}` left as text would also fail the integer check: that issue is dropped.
        #expect(
            issues.map(\.path) == [
                "workers", "control.listen", "routes[0].upstream.nodes[0].host", "routes[0].upstream.nodes[0].port",
            ]
        )
        #expect(issues[1].reason.hasPrefix("environment variables HOST, PORT are not set"))
    }

    @Test func quotedScalarsStayStrings() {
        // Quoting means text in YAML, with or without a reference in it: a quoted port is not a number.
        let yaml = "workers: \"${WORKERS}\"\nroutes: []\n"
        let issues = Self.issues(yaml, ["WORKERS": "2"])
        #expect(issues.map(\.path) == ["workers"])
        #expect(issues.first?.reason.contains("expected an integer, found a string (\"2\")") == true)
    }

    @Test func escapesAndEmbeddedReferences() throws {
        let yaml = """
            routes:
              - id: demo
                uri: /demo
                plugins:
                  mocking:
                    response_example: "$${LITERAL} ${GREETING}, ${NAME:-world}! costs $5"
            """
        let config = try Self.parse(yaml, ["GREETING": "hello"])
        #expect(config.routes.first?.mocking?.body == "${LITERAL} hello, world! costs $5")
    }

    @Test func referencesWorkInFlowCollectionsAndValuesNeverChangeStructure() throws {
        let yaml = """
            listen: [${LISTEN}]
            upstreams:
              - id: a
                nodes: {"127.0.0.1:80": ${WEIGHT}}
                timeout: {connect: ${CONNECT:-0.5}, read: ${READ}}
            routes:
              - {id: demo, uri: /demo, plugins: {mocking: {response_example: ${BODY}}}}
            """
        let environment = ["LISTEN": "127.0.0.1:1", "WEIGHT": "3", "READ": "7", "BODY": "a # b: c, d} [e]\nnext"]
        let config = try Self.parse(yaml, environment)
        #expect(config.listen == [ListenAddress(host: "127.0.0.1", port: 1)])
        let upstream = try #require(config.upstream(id: "a"))
        #expect(upstream.nodes.first?.weight == 3)
        #expect(upstream.timeout.connect == .milliseconds(500))
        #expect(upstream.timeout.read == .seconds(7))
        #expect(config.routes.first?.mocking?.body == "a # b: c, d} [e]\nnext")
        #expect(config.sourceHash == FNV1a.hex(of: yaml.utf8))
    }

    @Test func keysAreNeverSubstituted() {
        let yaml = """
            upstreams:
              - id: a
                nodes: {"${HOST}:80": 1}
            routes: []
            """
        let issues = Self.issues(yaml, ["HOST": "127.0.0.1"])
        #expect(issues.count == 1)
        #expect(issues.first?.path == "upstreams[0].nodes[\"${HOST}:80\"]")
    }

    @Test func mapNodeWeightsUseTheReadersKeyPath() {
        let yaml = """
            upstreams:
              - id: a
                nodes: {"127.0.0.1:80": ${WEIGHT}}
            routes: []
            """
        #expect(Self.issues(yaml, [:]).map(\.path) == ["upstreams[0].nodes[\"127.0.0.1:80\"]"])
    }

    @Test(
        "malformed references",
        arguments: [
            ("${UNCLOSED", "is not closed"),
            ("${}", "is not a variable reference"),
            ("${1ABC}", "is not a variable reference"),
            ("${A-B}", "is not a variable reference"),
            ("${A:-${B}}", "may not refer to another variable"),
        ]
    )
    func malformedReferences(text: String, reason: String) {
        let issues = Self.issues("log_level: \"\(text)\"\nroutes: []\n", ["A": "x", "B": "y"])
        #expect(issues.map(\.path) == ["log_level"])
        #expect(issues.first?.reason.contains(reason) == true, "\(issues)")
    }

    @Test func expansionRules() {
        let environment = ["A": "1", "EMPTY": ""]
        func expand(_ text: String) -> String? {
            try? ConfigReader.expand(text, environment: environment).get()
        }
        #expect(expand("${A}") == "1")
        #expect(expand("x${A}y${A}") == "x1y1")
        #expect(expand("${EMPTY}") == "")
        #expect(expand("${EMPTY:-d}") == "d")
        #expect(expand("${UNSET:-}") == "")
        #expect(expand("${UNSET:-a:-b}") == "a:-b")
        #expect(expand("$${A}") == "${A}")
        #expect(expand("$A $$ ${A}$") == "$A $$ 1$")
        #expect(expand("${UNSET}") == nil)
    }
}
