import Foundation
import TestSupport
import Testing

@testable import Gateway

/// Tokens and keys made by PyJWT and Python's `cryptography` (an implementation independent of the
/// gateway's): scripts/deps installs both.
enum PyJWT {
    /// What one run made: each requested key pair's PEM public key by name, and the tokens in order.
    struct Minted {
        var publicKeys: [String: String]
        var tokens: [String]

        func publicKey(_ name: String) throws -> String {
            try #require(publicKeys[name], "no key pair \(name) was made")
        }
    }

    /// A token to make: `claims` signed with `algorithm` under a secret, a generated key pair, no key
    /// (`none`), or, for the key-confusion attack, HS256 with a key pair's PEM public key as the secret.
    enum Signer {
        case secret(String)
        case base64Secret(String)
        case keyPair(String)
        case none
        case hmacWithPublicKey(String)
    }

    private static let script = #"""
        import base64, hashlib, hmac, json, sys
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        spec = json.load(sys.stdin)
        private, public = {}, {}
        curves = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
        for name, kind in spec["keys"].items():
            if kind.startswith("rsa"):
                key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:] or 2048))
                public[name + ".pkcs1"] = key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
            else:
                key = ec.generate_private_key(curves[kind]())
            private[name] = key
            public[name] = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        tokens = []
        for token in spec["tokens"]:
            kind, value = token["signer"]
            if kind == "hmac_with_public_key":
                # PyJWT refuses a PEM key as an HMAC secret, so the attack is put together by hand.
                head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
                body = b64(json.dumps(token["claims"]).encode())
                mac = hmac.new(public[value].encode(), (head + "." + body).encode(), hashlib.sha256).digest()
                tokens.append(head + "." + body + "." + b64(mac))
                continue
            key = {
                "secret": lambda: value.encode(),
                "base64_secret": lambda: base64.b64decode(value),
                "key_pair": lambda: private.get(value.removesuffix(".pkcs1")),
                "none": lambda: None,
            }[kind]()
            tokens.append(jwt.encode(token["claims"], key, algorithm=token["alg"], headers=token.get("headers")))
        json.dump({"public": public, "tokens": tokens}, sys.stdout)
        """#

    /// Makes key pairs (`keys`: name → "rsa" (2048 bits), "rsa<bits>", "P-256", "P-384" or "P-521") and
    /// signs `tokens` (algorithm, signer, claims) in one Python run. An RSA key's public key is also given
    /// in PKCS #1 form, as "<name>.pkcs1".
    static func mint(
        keys: [String: String] = [:],
        _ tokens: [(algorithm: String, signer: Signer, claims: [String: Any])]
    ) async throws -> Minted {
        let specs: [[String: Any]] = tokens.map { token in
            let signer: [String] =
                switch token.signer {
                case .secret(let secret): ["secret", secret]
                case .base64Secret(let secret): ["base64_secret", secret]
                case .keyPair(let name): ["key_pair", name]
                case .none: ["none", ""]
                case .hmacWithPublicKey(let name): ["hmac_with_public_key", name]
                }
            return ["alg": token.algorithm, "signer": signer, "claims": token.claims]
        }
        let input = try JSONSerialization.data(withJSONObject: ["keys": keys, "tokens": specs])
        let result = try await Command.run("python3", ["-c", script], input: input)
        guard result.exitCode == 0 else {
            throw IntegrationError(
                "minting with PyJWT failed (scripts/deps pip-installs pyjwt and cryptography): \(result.log)"
            )
        }
        let object = try #require(try JSONSerialization.jsonObject(with: result.output) as? [String: Any])
        return Minted(
            publicKeys: try #require(object["public"] as? [String: String]),
            tokens: try #require(object["tokens"] as? [String])
        )
    }
}

/// Drives `jwt-auth` with consumers' credentials and requests carrying tokens.
struct JWTAuthDriver {
    /// `harness.begin`'s default clock.
    static let now = 1_800_000_000

    let harness: PluginHarness
    let plugin: any GatewayPlugin

    /// Consumers named after `credentials`' usernames, each with its credential, and the plugin compiled
    /// with `settings` (YAML flow mapping).
    init(_ credentials: [(username: String, credential: JWTCredential)], settings: String = "{}") throws {
        let consumers = ConsumerTable(
            names: credentials.map(\.username),
            credentials: credentials.enumerated().map { (Int32($0.offset), .jwtAuth($0.element.credential)) },
            chains: credentials.map { _ in nil }
        )
        harness = PluginHarness(consumers: consumers)
        plugin = try harness.compile("jwt-auth", settings)
    }

    /// Runs the rewrite phase for a GET of `target` with `headers` (name: value lines).
    func run(_ target: String = "/a", headers: [String] = [], unixTime: Int = now) -> PluginVerdict {
        let lines = headers.map { $0 + "\r\n" }.joined()
        harness.begin("GET \(target) HTTP/1.1\r\nHost: h\r\n\(lines)\r\n", unixTime: Int64(unixTime))
        return harness.run(plugin, .rewrite)
    }

    /// Runs a request with `Authorization: Bearer <token>`.
    func bearer(_ token: String, unixTime: Int = now) -> PluginVerdict {
        run(headers: ["Authorization: Bearer \(token)"], unixTime: unixTime)
    }

    /// The authenticated consumer's index (-1 when none).
    var consumer: Int32 { harness.request.consumer }
}

extension JWTCredential {
    static func hmac(_ key: String, _ secret: String, algorithm: String = "HS256") -> JWTCredential {
        var credential = JWTCredential(key: key)
        credential.secret = secret
        credential.algorithm = algorithm
        return credential
    }

    static func publicKey(_ key: String, _ pem: String, algorithm: String) -> JWTCredential {
        var credential = JWTCredential(key: key)
        credential.publicKey = pem
        credential.algorithm = algorithm
        return credential
    }
}

@Suite struct JWTAuthPluginTests {
    static let later = JWTAuthDriver.now + 3600

    @Test func acceptsEveryAlgorithmWithItsOwnKey() async throws {
        let keys = ["rsa": "rsa", "p256": "P-256", "p384": "P-384", "p521": "P-521"]
        let cases: [(algorithm: String, signer: PyJWT.Signer)] = [
            ("HS256", .secret("secret-256")), ("HS384", .secret("secret-384")), ("HS512", .secret("secret-512")),
            ("RS256", .keyPair("rsa")), ("RS384", .keyPair("rsa")), ("RS512", .keyPair("rsa.pkcs1")),
            ("PS256", .keyPair("rsa")), ("PS384", .keyPair("rsa")), ("PS512", .keyPair("rsa")),
            ("ES256", .keyPair("p256")), ("ES384", .keyPair("p384")), ("ES512", .keyPair("p521")),
        ]
        let minted = try await PyJWT.mint(
            keys: keys,
            cases.map { ($0.algorithm, $0.signer, ["key": "user-\($0.algorithm)", "exp": Self.later]) }
        )
        var credentials: [(username: String, credential: JWTCredential)] = []
        for item in cases {
            switch item.signer {
            case .secret(let secret):
                credentials.append(
                    ("c-\(item.algorithm)", .hmac("user-\(item.algorithm)", secret, algorithm: item.algorithm))
                )
            case .keyPair(let name):
                credentials.append(
                    (
                        "c-\(item.algorithm)",
                        .publicKey("user-\(item.algorithm)", try minted.publicKey(name), algorithm: item.algorithm)
                    )
                )
            default: Issue.record("unexpected signer")
            }
        }
        let driver = try JWTAuthDriver(credentials)
        for (index, token) in minted.tokens.enumerated() {
            let verdict = driver.bearer(token)
            #expect(verdict.proceeds, "\(cases[index].algorithm): \(String(describing: verdict.rejection))")
            #expect(driver.consumer == Int32(index), "\(cases[index].algorithm)")
        }
    }

    @Test func checksExpiryAndNotBeforeWithTheGracePeriod() async throws {
        let now = JWTAuthDriver.now
        let minted = try await PyJWT.mint([
            ("HS256", .secret("s1"), ["key": "strict", "exp": now - 5]),
            ("HS256", .secret("s1"), ["key": "strict", "exp": now]),
            ("HS256", .secret("s1"), ["key": "strict", "exp": now + 1]),
            ("HS256", .secret("s1"), ["key": "strict", "nbf": now + 5, "exp": now + 60]),
            ("HS256", .secret("s1"), ["key": "strict", "nbf": now, "exp": now + 60]),
            ("HS256", .secret("s2"), ["key": "lenient", "exp": now - 5]),
            ("HS256", .secret("s2"), ["key": "lenient", "exp": now - 10]),
            ("HS256", .secret("s2"), ["key": "lenient", "nbf": now + 10]),
            ("HS256", .secret("s2"), ["key": "lenient", "nbf": now + 11]),
            ("HS256", .secret("s1"), ["key": "strict"]),
            ("HS256", .secret("s1"), ["key": "strict", "exp": "tomorrow"]),
            ("HS256", .secret("s1"), ["key": "strict", "exp": Double(now) + 0.5]),
        ])
        var lenient = JWTCredential.hmac("lenient", "s2")
        lenient.lifetimeGracePeriod = 10
        let driver = try JWTAuthDriver([("a", .hmac("strict", "s1")), ("b", lenient)])
        let expected: [Bool] = [false, false, true, false, true, true, false, true, false, true, false, true]
        for (index, token) in minted.tokens.enumerated() {
            let verdict = driver.bearer(token)
            if expected[index] {
                #expect(verdict.proceeds, "token \(index)")
            } else {
                #expect(verdict.rejection?.status == 401, "token \(index)")
                #expect(verdict.rejection?.message == "failed to verify jwt", "token \(index)")
            }
        }
    }

    @Test func rejectsBadSignaturesAlgorithmConfusionAndNone() async throws {
        let minted = try await PyJWT.mint(
            keys: ["rsa": "rsa", "p256": "P-256"],
            [
                ("HS256", .secret("other"), ["key": "hmac-user", "exp": Self.later]),
                ("HS512", .secret("right"), ["key": "hmac-user", "exp": Self.later]),
                ("HS256", .hmacWithPublicKey("rsa"), ["key": "rsa-user", "exp": Self.later]),
                ("none", .none, ["key": "hmac-user", "exp": Self.later]),
                ("none", .none, ["key": "rsa-user", "exp": Self.later]),
                ("ES256", .keyPair("p256"), ["key": "rsa-user", "exp": Self.later]),
                ("HS256", .secret("right"), ["key": "hmac-user", "exp": Self.later]),
            ]
        )
        let driver = try JWTAuthDriver([
            ("a", .hmac("hmac-user", "right")),
            ("b", .publicKey("rsa-user", try minted.publicKey("rsa"), algorithm: "RS256")),
        ])
        for token in minted.tokens.dropLast() {
            let verdict = driver.bearer(token)
            #expect(verdict.rejection?.status == 401, "\(token)")
            #expect(verdict.rejection?.message == "failed to verify jwt", "\(token)")
            #expect(driver.consumer == -1)
        }
        // The valid token with its payload swapped for another consumer's: the signature no longer covers it.
        let valid = minted.tokens.last!
        #expect(driver.bearer(valid).proceeds)
        let parts = valid.split(separator: ".")
        let forged = parts[0] + "." + Self.base64URL(#"{"key":"rsa-user","exp":\#(Self.later)}"#) + "." + parts[2]
        #expect(driver.bearer(String(forged)).rejection?.message == "failed to verify jwt")
        let truncated = parts[0] + "." + parts[1] + "." + parts[2].dropLast(4)
        #expect(driver.bearer(String(truncated)).rejection?.message == "failed to verify jwt")
    }

    @Test func reportsMissingUnknownAndUndecodableTokens() async throws {
        let minted = try await PyJWT.mint([
            ("HS256", .secret("s"), ["key": "nobody", "exp": Self.later]),
            ("HS256", .secret("s"), ["sub": "someone", "exp": Self.later]),
            ("HS256", .secret("s"), ["key": 42, "exp": Self.later]),
        ])
        let driver = try JWTAuthDriver([("a", .hmac("k", "s"))])
        #expect(driver.run().rejection?.message == "Missing JWT token in request")
        #expect(driver.run().rejection?.status == 401)
        #expect(driver.bearer(minted.tokens[0]).rejection?.message == "Invalid user key in JWT token")
        #expect(driver.bearer(minted.tokens[1]).rejection?.message == "missing user key in JWT token")
        #expect(driver.bearer(minted.tokens[2]).rejection?.message == "Invalid user key in JWT token")
        let header = Self.base64URL(#"{"alg":"HS256"}"#)
        let payload = Self.base64URL(#"{"key":"k"}"#)
        for token in [
            "garbage", "a.b", "\(header).\(payload)", "\(header).\(payload).c.d", "\(header).!!!.sig",
            "\(Self.base64URL("[1]")).\(payload).sig", "\(header).\(Self.base64URL(#"{"key":"k""#)).sig",
            "\(header).\(Self.base64URL(#"{"key":"k","key":"k"}"#)).sig",
            "\(Self.base64URL(#"{"alg":"HS256","alg":"none"}"#)).\(payload).sig",
        ] {
            #expect(driver.bearer(token).rejection?.message == "JWT token invalid", "\(token)")
        }
    }

    @Test func readsTheTokenFromHeaderQueryOrCookie() async throws {
        let minted = try await PyJWT.mint([
            ("HS256", .secret("s"), ["key": "k", "exp": Self.later]),
            ("HS256", .secret("t"), ["key": "k2", "exp": Self.later]),
        ])
        let token = minted.tokens[0]
        let driver = try JWTAuthDriver([("a", .hmac("k", "s")), ("b", .hmac("k2", "t"))])
        for headers in [
            ["Authorization: Bearer \(token)"], ["authorization: bearer \(token)"], ["Authorization: BEARER  \(token)"],
            ["Authorization: \(token)"], ["Cookie: a=1; jwt=\(token); b=2"],
        ] {
            #expect(driver.run(headers: headers).proceeds, "\(headers)")
            #expect(driver.consumer == 0)
        }
        #expect(driver.run("/a?x=1&jwt=\(token)").proceeds)
        #expect(driver.consumer == 0)
        // The header comes first, then the query argument, then the cookie.
        #expect(driver.run("/a?jwt=\(minted.tokens[1])", headers: ["Authorization: Bearer \(token)"]).proceeds)
        #expect(driver.consumer == 0)
        #expect(driver.run("/a?jwt=\(minted.tokens[1])", headers: ["Cookie: jwt=\(token)"]).proceeds)
        #expect(driver.consumer == 1)
        // A header that is there but holds no token is not skipped for the query argument.
        #expect(
            driver.run("/a?jwt=\(token)", headers: ["Authorization: Basic dTpw"]).rejection?.message
                == "JWT token invalid"
        )
        #expect(driver.harness.edits.isEmpty)
    }

    @Test func customSourcesKeyClaimAndHiddenCredentials() async throws {
        let minted = try await PyJWT.mint([("HS256", .secret("s"), ["iss": "k", "exp": Self.later])])
        let token = minted.tokens[0]
        let driver = try JWTAuthDriver(
            [("a", .hmac("k", "s"))],
            settings:
                "{header: x-token, query: t, cookie: c, key_claim_name: iss, hide_credentials: true, store_in_ctx: true}"
        )
        #expect(driver.run(headers: ["X-Token: \(token)"]).proceeds)
        #expect(driver.harness.edits.map(\.0) == [.requestRemove])
        #expect(driver.harness.edits.first?.1 == "x-token")
        #expect(driver.run("/a?t=\(token)").proceeds)
        #expect(driver.harness.edits.map(\.0) == [.removeQueryArgument])
        #expect(driver.harness.edits.first?.1 == "t")
        #expect(driver.run(headers: ["Cookie: c=\(token)"]).proceeds)
        #expect(driver.harness.edits.isEmpty)
        #expect(
            driver.run(headers: ["Authorization: Bearer \(token)"]).rejection?.message == "Missing JWT token in request"
        )
        // Rejected requests keep their credentials.
        #expect(driver.run("/a?t=x.y.z").rejection?.message == "JWT token invalid")
        #expect(driver.harness.edits.isEmpty)
    }

    @Test func base64SecretIsDecodedBeforeUse() async throws {
        let encoded = Data("binary\u{0}secret\u{FF}".utf8).base64EncodedString()
        let minted = try await PyJWT.mint([("HS256", .base64Secret(encoded), ["key": "k"])])
        var credential = JWTCredential.hmac("k", encoded)
        credential.base64Secret = true
        #expect(try JWTAuthDriver([("a", credential)]).bearer(minted.tokens[0]).proceeds)
        #expect(try JWTAuthDriver([("a", .hmac("k", encoded))]).bearer(minted.tokens[0]).rejection != nil)
    }

    @Test func anonymousConsumerTakesRequestsWithoutAValidToken() async throws {
        let minted = try await PyJWT.mint([
            ("HS256", .secret("s"), ["key": "k", "exp": Self.later]),
            ("HS256", .secret("wrong"), ["key": "k", "exp": Self.later]),
        ])
        let credentials: [(username: String, credential: JWTCredential)] = [
            ("alice", .hmac("k", "s")), ("guest", .hmac("g", "x")),
        ]
        let driver = try JWTAuthDriver(credentials, settings: "{anonymous_consumer: guest}")
        #expect(driver.run().proceeds)
        #expect(driver.consumer == 1)
        #expect(driver.bearer(minted.tokens[1]).proceeds)
        #expect(driver.consumer == 1)
        #expect(driver.bearer("not-a-token").proceeds)
        #expect(driver.consumer == 1)
        #expect(driver.bearer(minted.tokens[0]).proceeds)
        #expect(driver.consumer == 0)
        #expect(throws: ConfigError.self) { try JWTAuthDriver(credentials, settings: "{anonymous_consumer: nobody}") }
    }

    /// Base64url without padding, as JWS writes its parts.
    static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
