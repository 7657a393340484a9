import Testing

@testable import Gateway

@Suite struct JWTAuthConfigTests {
    /// A configuration whose consumer `a` has `jwt-auth` settings `settings` (YAML flow mapping).
    static func yaml(consumer settings: String, route: String = "{}") -> String {
        """
        upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
        routes:
          - id: r
            uri: /*
            upstream_id: u
            plugins:
              jwt-auth: \(route)
        consumers:
          - username: a
            plugins:
              jwt-auth: \(settings)
        """
    }

    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    static func issues(consumer settings: String) -> [ConfigIssue] {
        do {
            let config = try parse(yaml(consumer: settings))
            _ = try ProxyPlan(config: config)
            return []
        } catch {
            return error.issues
        }
    }

    static let path = "consumers[0].plugins.jwt-auth"

    @Test func readsAPISIXConsumerSettingsWithDefaults() throws {
        let config = try Self.parse(Self.yaml(consumer: "{key: user-key, secret: s}"))
        var expected = JWTCredential(key: "user-key")
        expected.secret = "s"
        #expect(config.consumers.first?.credentials == [.jwtAuth(expected)])
        #expect(expected.algorithm == "HS256" && expected.exp == 86400 && !expected.base64Secret)
        #expect(expected.lifetimeGracePeriod == 0)

        let full = try Self.parse(
            Self.yaml(
                consumer:
                    "{key: k, secret: czM=, algorithm: HS512, exp: 60, base64_secret: true, lifetime_grace_period: 5}"
            )
        )
        var credential = JWTCredential(key: "k")
        credential.secret = "czM="
        credential.algorithm = "HS512"
        credential.exp = 60
        credential.base64Secret = true
        credential.lifetimeGracePeriod = 5
        #expect(full.consumers.first?.credentials == [.jwtAuth(credential)])
    }

    @Test func reportsConsumerSettingsWithKeyPaths() {
        let cases: [(settings: String, key: String, reason: String?)] = [
            ("{secret: s}", "key", "required key is missing"),
            ("{key: k}", "secret", "required key is missing"),
            ("{key: k, algorithm: HS384}", "secret", "required key is missing"),
            ("{key: k, algorithm: RS256, secret: s}", "public_key", "required key is missing"),
            ("{key: k, algorithm: ES256}", "public_key", "required key is missing"),
            ("{key: k, algorithm: RS256, public_key: not-a-pem}", "public_key", "RSA public key"),
            ("{key: k, algorithm: ES256, public_key: not-a-pem}", "public_key", "P-256"),
            ("{key: k, secret: s, algorithm: HS1024}", "algorithm", "must be one of"),
            ("{key: k, secret: s, algorithm: EdDSA}", "algorithm", "must be one of"),
            ("{key: k, secret: s, algorithm: none}", "algorithm", "must be one of"),
            ("{key: k, secret: '!!!', base64_secret: true}", "secret", "not base64"),
            ("{key: k, secret: s, exp: 0}", "exp", nil),
            ("{key: k, secret: s, lifetime_grace_period: -1}", "lifetime_grace_period", nil),
            ("{key: k, secret: s, private_key: x}", "private_key", nil),
            ("{key: '', secret: s}", "key", nil),
            (
                "{key: k, algorithm: RS256, public_key: \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"}",
                "public_key", nil
            ),
        ]
        for item in cases {
            let issues = Self.issues(consumer: item.settings)
            #expect(
                issues.contains {
                    $0.path == "\(Self.path).\(item.key)" && (item.reason.map($0.reason.contains) ?? true)
                },
                "\(item.settings): \(issues.map { "\($0.path): \($0.reason)" })"
            )
        }
    }

    @Test func publicKeysMustFitTheAlgorithm() async throws {
        let minted = try await PyJWT.mint(keys: ["rsa": "rsa", "p256": "P-256", "small": "rsa1024"], [])
        let rsa = try minted.publicKey("rsa")
        let ec = try minted.publicKey("p256")
        func settings(_ algorithm: String, _ pem: String) -> String {
            "{key: k, algorithm: \(algorithm), public_key: \"\(pem.replacingOccurrences(of: "\n", with: "\\n"))\"}"
        }
        #expect(Self.issues(consumer: settings("RS256", rsa)).isEmpty)
        #expect(Self.issues(consumer: settings("ES256", ec)).isEmpty)
        #expect(Self.issues(consumer: settings("RS256", ec)).map(\.path) == ["\(Self.path).public_key"])
        #expect(Self.issues(consumer: settings("ES256", rsa)).map(\.path) == ["\(Self.path).public_key"])
        #expect(Self.issues(consumer: settings("ES384", ec)).map(\.path) == ["\(Self.path).public_key"])
        #expect(Self.issues(consumer: settings("RS256", try minted.publicKey("rsa.pkcs1"))).isEmpty)
        #expect(
            Self.issues(consumer: settings("PS512", try minted.publicKey("small"))).map(\.path) == [
                "\(Self.path).public_key"
            ]
        )
        // A key pasted whole: the PEM block must be intact.
        let cut = String(rsa.split(separator: "\n").dropLast().joined(separator: "\n"))
        #expect(Self.issues(consumer: settings("RS256", cut)).map(\.path) == ["\(Self.path).public_key"])
    }

    @Test func reportsRouteSettingsWithKeyPaths() {
        let route = "routes[0].plugins.jwt-auth"
        #expect(PluginHarness.issues("jwt-auth", "{}").isEmpty)
        #expect(
            PluginHarness.issues(
                "jwt-auth",
                "{header: x-jwt, query: t, cookie: c, hide_credentials: true, key_claim_name: iss, store_in_ctx: false}"
            ).isEmpty
        )
        #expect(PluginHarness.issues("jwt-auth", "{header: ''}").map(\.path) == ["\(route).header"])
        #expect(
            PluginHarness.issues("jwt-auth", "{hide_credentials: yes please}").map(\.path) == [
                "\(route).hide_credentials"
            ]
        )
        #expect(PluginHarness.issues("jwt-auth", "{store_in_ctx: 3}").map(\.path) == ["\(route).store_in_ctx"])
        #expect(PluginHarness.issues("jwt-auth", "{secret: s}").map(\.path) == ["\(route).secret"])
    }
}
