import Foundation
import TestSupport
import Testing

/// jwt-auth through a running gateway, with tokens and keys minted by PyJWT: the signatures, claims and
/// attacks a client can send, and the consumer the upstream request then belongs to.
@Suite("Integration: jwt-auth")
struct JWTAuthIntegrationTests {
    @Test("HS256, RS256 and ES256 tokens pass; expired, early, forged, alg none and unknown keys get 401")
    func tokensThroughTheGateway() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("jwt-auth")
        defer { try? FileManager.default.removeItem(at: directory) }
        let now = Int(Date().timeIntervalSince1970)
        let minted = try await PyJWT.mint(
            keys: ["rsa": "rsa", "ec": "P-256"],
            [
                ("HS256", .secret("hs-secret-0123456789"), ["key": "hs-user", "exp": now + 600]),
                ("RS256", .keyPair("rsa"), ["key": "rs-user", "exp": now + 600]),
                ("ES256", .keyPair("ec"), ["key": "es-user", "exp": now + 600]),
                ("HS256", .secret("hs-secret-0123456789"), ["key": "hs-user", "exp": now - 60]),
                ("HS256", .secret("hs-secret-0123456789"), ["key": "hs-user", "nbf": now + 600]),
                ("HS256", .secret("wrong-secret"), ["key": "hs-user", "exp": now + 600]),
                ("none", .none, ["key": "hs-user", "exp": now + 600]),
                ("HS256", .secret("hs-secret-0123456789"), ["key": "nobody", "exp": now + 600]),
                ("HS256", .hmacWithPublicKey("rsa"), ["key": "rs-user", "exp": now + 600]),
            ]
        )
        let token = minted.tokens
        let rsaKey = try minted.publicKey("rsa").replacingOccurrences(of: "\n", with: "\\n")
        let ecKey = try minted.publicKey("ec").replacingOccurrences(of: "\n", with: "\\n")
        let upstream = try await UpstreamProcess.start(in: directory)
        let gateway: GatewayProcess
        do {
            gateway = try await GatewayProcess.start(
                yaml: IntegrationEnvironment.withTestEngine(
                    """
                    workers: 2
                    listen: ["127.0.0.1:0"]
                    upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstream.port)": 1}}]
                    consumers:
                      - username: hs
                        plugins: {jwt-auth: {key: hs-user, secret: hs-secret-0123456789}}
                      - username: rs
                        plugins: {jwt-auth: {key: rs-user, algorithm: RS256, public_key: "\(rsaKey)"}}
                      - username: es
                        plugins: {jwt-auth: {key: es-user, algorithm: ES256, public_key: "\(ecKey)"}}
                    routes:
                      - id: jwt
                        uri: /jwt/*
                        upstream_id: backend
                        plugins:
                          jwt-auth: {hide_credentials: true}
                          proxy-rewrite: {headers: {set: {X-Consumer: "$consumer_name"}}}

                    """
                ),
                in: directory
            )
        } catch {
            await upstream.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            func call(_ arguments: [String], path: String = "/jwt/headers") async throws -> CurlResult {
                try await Curl.run("\(gateway.url)\(path)", arguments, in: directory)
            }
            for (index, consumer) in ["hs", "rs", "es"].enumerated() {
                let result = try await call(["-H", "Authorization: Bearer \(token[index])"])
                #expect(result.status == 200, "\(consumer): \(result.bodyString)")
                let headers = HeaderIntegrationTests.upstreamHeaders(try result.jsonObject())
                #expect(HeaderIntegrationTests.values(headers, "X-Consumer") == [consumer])
                #expect(HeaderIntegrationTests.values(headers, "Authorization").isEmpty, "hide_credentials")
            }
            let fromQuery = try await call([], path: "/jwt/headers?jwt=\(token[0])")
            #expect(fromQuery.status == 200)
            let fromCookie = try await call(["-H", "Cookie: a=b; jwt=\(token[1])"])
            #expect(fromCookie.status == 200, "\(fromCookie.bodyString)")

            let refused: [(String, Int, String)] = [
                ("expired", 3, "failed to verify jwt"),
                ("not yet valid", 4, "failed to verify jwt"),
                ("wrong signature", 5, "failed to verify jwt"),
                ("alg none", 6, "failed to verify jwt"),
                ("unknown key", 7, "Invalid user key in JWT token"),
                ("HS256 with the RSA public key", 8, "failed to verify jwt"),
            ]
            for (name, index, message) in refused {
                let result = try await call(["-H", "Authorization: Bearer \(token[index])"])
                #expect(result.status == 401, "\(name): \(result.bodyString)")
                #expect((try? result.jsonObject()["message"] as? String) == message, "\(name): \(result.bodyString)")
            }
            let missing = try await call([])
            #expect(missing.status == 401)
            #expect(try missing.jsonObject()["message"] as? String == "Missing JWT token in request")
            let garbage = try await call(["-H", "Authorization: Bearer not.a.jwt"])
            #expect(garbage.status == 401)
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }
}
