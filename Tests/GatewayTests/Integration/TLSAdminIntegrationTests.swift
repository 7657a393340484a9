import Foundation
import TestSupport
import Testing

/// Certificates managed through the Admin API's `ssls` resource on a running TLS gateway: served to new
/// connections without a restart, private keys hidden from viewer keys, bad material refused.
@Suite("Integration: TLS certificates through the Admin API")
struct TLSAdminIntegrationTests {
    static let adminKey = AdminAPIIntegrationTests.adminKey
    static let viewerKey = AdminAPIIntegrationTests.viewerKey

    /// The certificates one test uses: a file-defined default, and the ones it writes over the API.
    struct Material {
        let fallback: TestCertificates.Issued
        let api: TestCertificates.Issued
        let apiRSA: TestCertificates.Issued
        let other: TestCertificates.Issued
        let wildcard: TestCertificates.Issued
        /// A client certificate for mTLS to upstreams.
        let client: TestCertificates.Issued
    }

    /// A TLS gateway whose file defines only the `fallback` certificate (also `tls.default_ssl` unless
    /// `defaultSSL` is false), with the Admin API on a port of its own.
    static func withGateway(
        _ label: String,
        defaultSSL: Bool = true,
        _ body: (TLSGateway, AdminAPIIntegrationTests.Admin, Material) async throws -> Void
    ) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let certificates = try await TestCertificates.authority(in: directory)
        let material = Material(
            fallback: try await certificates.issue(["fallback.example.test"]),
            api: try await certificates.issue(["api.example.com"]),
            apiRSA: try await certificates.issue(["api.example.com"], key: .rsa),
            other: try await certificates.issue(["other.example.com"]),
            wildcard: try await certificates.issue(["*.example.com"]),
            client: try await certificates.issue(["gateway-client"], client: true)
        )
        let adminPort = try Loopback.unusedPort()
        let dataPath = directory.appendingPathComponent("data/resources.json").path
        let tls = try await TLSGateway.start(
            label,
            directory: directory,
            certificates: certificates,
            extra: """
                admin:
                  listen: "127.0.0.1:\(adminPort)"
                  keys:
                    - {key: "\(adminKey)", role: admin}
                    - {key: "\(viewerKey)", role: viewer}
                  data_path: "\(dataPath)"
                \(defaultSSL ? "tls: {default_ssl: fallback}" : "")
                ssls:
                  - id: fallback
                    snis: [fallback.example.test]
                    cert_file: "\(material.fallback.certificate.path)"
                    key_file: "\(material.fallback.key.path)"
                """
        )
        let admin = AdminAPIIntegrationTests.Admin(port: adminPort, directory: directory)
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(tls, admin, material)
        } tearDown: {
            let clean = await tls.gateway.finish()
            await tls.upstream.stop()
            return clean
        }
    }

    /// APISIX's body for `PUT /apisix/admin/ssls/{id}`, as JSON text.
    static func body(_ members: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: members, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Whether a new connection asking for `name` is served the certificate whose CN is `commonName`.
    static func presents(_ tls: TLSGateway, _ name: String, _ commonName: String) async throws -> Bool {
        try await tls.presentedSubject(serverName: name).subject?.contains("CN = \(commonName)") == true
    }

    /// `value` of an Admin API envelope.
    static func value(_ envelope: [String: Any]) -> [String: Any] {
        envelope["value"] as? [String: Any] ?? [:]
    }

    @Test(
        "PUT /apisix/admin/ssls/1 serves its certificate to new connections for its SNI without a restart; DELETE falls back to tls.default_ssl"
    )
    func putServesAndDeleteFallsBack() async throws {
        try await Self.withGateway("tls-admin-put") { tls, admin, material in
            let pid = tls.gateway.pid
            #expect(try await Self.presents(tls, "api.example.com", "fallback.example.test"))

            let created = try await admin.curl(
                "PUT",
                "/ssls/1",
                try Self.body([
                    "cert": material.api.certificatePEM, "key": material.api.keyPEM, "snis": ["api.example.com"],
                ])
            )
            #expect(created.status == 201, "\(created.bodyString)")
            let envelope = try created.jsonObject()
            #expect(envelope["key"] as? String == "/apisix/ssls/1")
            #expect(Self.value(envelope)["snis"] as? [String] == ["api.example.com"])

            let served = try await eventually(timeout: .seconds(10)) {
                try await Self.presents(tls, "api.example.com", "api.example.com")
            }
            let servedOutput = try await served ? "" : tls.presentedSubject(serverName: "api.example.com").output
            #expect(served, "\(servedOutput)")
            // The certificate verifies against the CA for that name (curl checks the chain and the name).
            let request = try await tls.curl("api.example.com")
            #expect(request.status == 200, "\(request.bodyString)")
            // Other names keep the file's default.
            #expect(try await Self.presents(tls, "fallback.example.test", "fallback.example.test"))
            #expect(try await Self.presents(tls, "other.example.com", "fallback.example.test"))

            #expect(try await admin.curl("DELETE", "/ssls/1").status == 200)
            let fellBack = try await eventually(timeout: .seconds(10)) {
                try await Self.presents(tls, "api.example.com", "fallback.example.test")
            }
            let fellBackOutput = try await fellBack ? "" : tls.presentedSubject(serverName: "api.example.com").output
            #expect(fellBack, "\(fellBackOutput)")
            #expect(try await admin.curl("GET", "/ssls/1").status == 404)
            // A hostname-checking client now refuses the default certificate for that name.
            let refused = try await tls.curl("api.example.com")
            #expect(refused.status != 200)

            #expect(tls.gateway.process.exitCode == nil && tls.gateway.pid == pid, "the gateway restarted")
        }
    }

    @Test("GET /apisix/admin/ssls shows private keys (key and keys) to admin keys only, never to viewer keys")
    func viewersNeverSeeKeys() async throws {
        try await Self.withGateway("tls-admin-read") { tls, admin, material in
            let created = try await admin.curl(
                "PUT",
                "/ssls/1",
                try Self.body([
                    "cert": material.api.certificatePEM, "key": material.api.keyPEM,
                    "certs": [material.apiRSA.certificatePEM], "keys": [material.apiRSA.keyPEM],
                    "snis": ["api.example.com"],
                ])
            )
            #expect(created.status == 201, "\(created.bodyString)")

            let adminView = Self.value(try await admin.curl("GET", "/ssls/1").jsonObject())
            #expect(adminView["key"] as? String == material.api.keyPEM)
            #expect(adminView["keys"] as? [String] == [material.apiRSA.keyPEM])
            #expect(adminView["cert"] as? String == material.api.certificatePEM)

            let viewerOne = try await admin.curl("GET", "/ssls/1", key: Self.viewerKey)
            #expect(viewerOne.status == 200, "\(viewerOne.bodyString)")
            let viewerView = Self.value(try viewerOne.jsonObject())
            #expect(viewerView["key"] == nil && viewerView["keys"] == nil, "\(viewerView.keys.sorted())")
            #expect(viewerView["cert"] as? String == material.api.certificatePEM)
            #expect(viewerView["certs"] as? [String] == [material.apiRSA.certificatePEM])
            #expect(viewerView["snis"] as? [String] == ["api.example.com"])
            #expect(!viewerOne.bodyString.contains("PRIVATE KEY"), "\(viewerOne.bodyString)")

            // The list holds the file's certificate and the API's; neither shows a key to a viewer.
            let viewerList = try await admin.curl("GET", "/ssls", key: Self.viewerKey)
            #expect(viewerList.status == 200)
            let items = (try viewerList.jsonObject()["list"] as? [[String: Any]]) ?? []
            #expect(Set(items.compactMap { Self.value($0)["id"] as? String }) == ["fallback", "1"], "\(items)")
            #expect(items.allSatisfy { Self.value($0)["key"] == nil && Self.value($0)["keys"] == nil })
            #expect(!viewerList.bodyString.contains("PRIVATE KEY"), "\(viewerList.bodyString)")
            // Paged, too.
            let page = try await admin.curl("GET", "/ssls?page=1&page_size=10", key: Self.viewerKey)
            #expect(page.status == 200 && !page.bodyString.contains("PRIVATE KEY"), "\(page.bodyString)")

            let adminList = try await admin.curl("GET", "/ssls")
            #expect(adminList.bodyString.contains("PRIVATE KEY"))

            // Viewers cannot write certificates either.
            let viewerWrite = try await admin.curl(
                "PUT",
                "/ssls/2",
                try Self.body([
                    "cert": material.other.certificatePEM, "key": material.other.keyPEM, "snis": ["other.example.com"],
                ]),
                key: Self.viewerKey
            )
            #expect(viewerWrite.status == 401)
            #expect(try await admin.curl("GET", "/ssls/2").status == 404)
            #expect(try await tls.curl("api.example.com").status == 200)
        }
    }

    @Test(
        "An upstream's tls.client_key (own, or inline in a route or service) is shown to admin keys only, never to viewer keys"
    )
    func viewersNeverSeeUpstreamClientKeys() async throws {
        try await Self.withGateway("tls-admin-upstream-key") { tls, admin, material in
            let upstream: [String: Any] = [
                "type": "roundrobin", "scheme": "https", "nodes": ["127.0.0.1:\(tls.upstream.port)": 1],
                "tls": [
                    "verify": false, "client_cert": material.client.certificatePEM,
                    "client_key": material.client.keyPEM,
                ],
            ]
            let writes: [(String, [String: Any])] = [
                ("/upstreams/mtls", upstream),
                ("/routes/mtls", ["uri": "/mtls/*", "upstream": upstream]),
                ("/services/mtls", ["upstream": upstream]),
            ]
            for (path, body) in writes {
                let created = try await admin.curl("PUT", path, try Self.body(body))
                #expect(created.status == 201, "\(path): \(created.bodyString)")
            }
            // Admins see the key as they wrote it (as APISIX returns it).
            let adminUpstream = Self.value(try await admin.curl("GET", "/upstreams/mtls").jsonObject())
            #expect((adminUpstream["tls"] as? [String: Any])?["client_key"] as? String == material.client.keyPEM)
            let adminRoute = try await admin.curl("GET", "/routes/mtls")
            #expect(adminRoute.bodyString.contains("PRIVATE KEY"), "\(adminRoute.bodyString)")

            for path in ["/upstreams/mtls", "/routes/mtls", "/services/mtls", "/upstreams", "/routes", "/services"] {
                let viewed = try await admin.curl("GET", path, key: Self.viewerKey)
                #expect(viewed.status == 200, "\(path): \(viewed.bodyString)")
                #expect(!viewed.bodyString.contains("PRIVATE KEY"), "\(path): \(viewed.bodyString)")
                // The rest of the tls block, the certificate included, is still shown.
                #expect(viewed.bodyString.contains("BEGIN CERTIFICATE"), "\(path): \(viewed.bodyString)")
            }
            let viewerUpstream = Self.value(
                try await admin.curl("GET", "/upstreams/mtls", key: Self.viewerKey).jsonObject()
            )
            let viewerTLS = viewerUpstream["tls"] as? [String: Any] ?? [:]
            #expect(viewerTLS["client_key"] == nil)
            #expect(viewerTLS["client_cert"] as? String == material.client.certificatePEM)
            let viewerRoute = Self.value(try await admin.curl("GET", "/routes/mtls", key: Self.viewerKey).jsonObject())
            let routeTLS = (viewerRoute["upstream"] as? [String: Any])?["tls"] as? [String: Any] ?? [:]
            #expect(routeTLS["client_key"] == nil && routeTLS["verify"] as? Bool == false, "\(viewerRoute)")
        }
    }

    @Test("A PUT whose key does not match its certificate is refused with 400 and changes nothing")
    func mismatchedKeyChangesNothing() async throws {
        try await Self.withGateway("tls-admin-mismatch") { tls, admin, material in
            let created = try await admin.curl(
                "PUT",
                "/ssls/1",
                try Self.body([
                    "cert": material.api.certificatePEM, "key": material.api.keyPEM, "snis": ["api.example.com"],
                ])
            )
            #expect(created.status == 201, "\(created.bodyString)")
            let before = try await admin.curl("GET", "/ssls/1").jsonObject()
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    try await Self.presents(tls, "api.example.com", "api.example.com")
                }
            )

            // Replacing the entry with another name's certificate and this key.
            let replaced = try await admin.curl(
                "PUT",
                "/ssls/1",
                try Self.body([
                    "cert": material.other.certificatePEM, "key": material.api.keyPEM,
                    "snis": ["other.example.com"],
                ])
            )
            #expect(replaced.status == 400, "\(replaced.bodyString)")
            #expect(replaced.bodyString.contains("does not match"), "\(replaced.bodyString)")
            #expect(!replaced.bodyString.contains("PRIVATE KEY"), "\(replaced.bodyString)")
            // A new entry with the same flaw.
            let added = try await admin.curl(
                "PUT",
                "/ssls/2",
                try Self.body([
                    "cert": material.other.certificatePEM, "key": material.api.keyPEM,
                    "snis": ["other.example.com"],
                ])
            )
            #expect(added.status == 400, "\(added.bodyString)")
            let badPEM = try await admin.curl(
                "PUT",
                "/ssls/3",
                try Self.body(["cert": "not a certificate", "key": material.api.keyPEM, "snis": ["x.example.com"]])
            )
            #expect(badPEM.status == 400, "\(badPEM.bodyString)")
            #expect(badPEM.bodyString.contains("no PEM certificate"), "\(badPEM.bodyString)")

            let after = try await admin.curl("GET", "/ssls/1").jsonObject()
            #expect(Self.value(after)["cert"] as? String == material.api.certificatePEM)
            #expect(after["modifiedIndex"] as? Int == before["modifiedIndex"] as? Int)
            #expect(try await admin.curl("GET", "/ssls/2").status == 404)
            #expect(try await admin.curl("GET", "/ssls/3").status == 404)
            #expect(try await Self.presents(tls, "api.example.com", "api.example.com"))
            #expect(try await Self.presents(tls, "other.example.com", "fallback.example.test"))
            #expect(try await tls.curl("api.example.com").status == 200)
        }
    }

    @Test(
        "Without tls.default_ssl, a wildcard entry added over the API serves its names; once deleted they fail the handshake"
    )
    func deleteWithoutDefaultFails() async throws {
        try await Self.withGateway("tls-admin-nodefault", defaultSSL: false) { tls, admin, material in
            let before = try await tls.presentedSubject(serverName: "shop.example.com")
            #expect(before.subject == nil && before.output.contains("unrecognized name"), "\(before.output)")
            let created = try await admin.curl(
                "PUT",
                "/ssls/wild",
                try Self.body([
                    "cert": material.wildcard.certificatePEM, "key": material.wildcard.keyPEM,
                    "snis": ["*.example.com"],
                ])
            )
            #expect(created.status == 201, "\(created.bodyString)")
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    try await Self.presents(tls, "shop.example.com", "*.example.com")
                }
            )
            #expect(try await tls.curl("shop.example.com").status == 200)
            #expect(try await admin.curl("DELETE", "/ssls/wild").status == 200)
            let gone = try await eventually(timeout: .seconds(10)) {
                try await tls.presentedSubject(serverName: "shop.example.com").subject == nil
            }
            let goneOutput = try await gone ? "" : tls.presentedSubject(serverName: "shop.example.com").output
            #expect(gone, "\(goneOutput)")
            let after = try await tls.presentedSubject(serverName: "shop.example.com")
            #expect(after.output.contains("unrecognized name"), "\(after.output)")
            // The file's entry is untouched.
            #expect(try await Self.presents(tls, "fallback.example.test", "fallback.example.test"))
        }
    }
}
