import CSSL
import Foundation
import TestSupport
import Testing

@testable import Gateway

/// client-cert-auth: consumers found by the verified client certificate's subject, their settings'
/// errors, and subjects as OpenSSL really prints them.
@Suite struct ClientCertAuthPluginTests {
    static let consumers = ConsumerTable(
        names: ["client-one", "client-two", "anon"],
        credentials: [
            (0, .clientCert(subject: "O=Gateway Tests,CN=client-one")),
            (1, .keyAuth(key: "O=Gateway Tests,CN=client-two")),
            (1, .clientCert(subject: "O=Gateway Tests,CN=client-two")),
        ],
        chains: []
    )

    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    @Test func findsTheConsumerByItsVerifiedSubject() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let plugin = try harness.compile("client-cert-auth", "{}")
        func authenticate(_ subject: String, tls: Bool = true) -> PluginVerdict {
            harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: tls, clientSubject: subject)
            return harness.run(plugin, .rewrite)
        }
        #expect(authenticate("O=Gateway Tests,CN=client-two").proceeds)
        #expect(harness.request.consumer == 1)
        #expect(harness.request.consumerName.map { String(decoding: $0, as: UTF8.self) } == "client-two")
        #expect(authenticate("O=Gateway Tests,CN=client-one").proceeds)
        #expect(harness.request.consumer == 0)
        #expect(harness.edits.isEmpty)

        for (subject, tls) in [("", false), ("", true)] {
            let verdict = authenticate(subject, tls: tls)
            #expect(verdict.rejection?.status == 401)
            #expect(verdict.rejection?.message == "Missing client certificate")
            #expect(harness.request.consumer == -1)
        }
        // The whole subject, exactly: not the other RDN order, a prefix, a longer one, or another case.
        for subject in [
            "CN=client-one,O=Gateway Tests", "O=Gateway Tests,CN=client-on", "O=Gateway Tests,CN=client-one,C=DE",
            "O=Gateway Tests,CN=Client-one", "O=Gateway Tests,CN=client-three",
        ] {
            let verdict = authenticate(subject)
            #expect(verdict.rejection?.status == 401, "\(subject)")
            #expect(verdict.rejection?.message == "Invalid client certificate", "\(subject)")
            #expect(harness.request.consumer == -1)
        }
        // Another authentication plugin's secret with the same bytes is not a subject.
        let keyOnly = ConsumerTable(names: ["k"], credentials: [(0, .keyAuth(key: "CN=k"))], chains: [])
        let other = PluginHarness(consumers: keyOnly)
        let keyPlugin = try other.compile("client-cert-auth", "{}")
        other.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: true, clientSubject: "CN=k")
        #expect(other.run(keyPlugin, .rewrite).rejection?.message == "Invalid client certificate")
    }

    @Test func fallsBackToTheAnonymousConsumer() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let plugin = try harness.compile("client-cert-auth", "{anonymous_consumer: anon}")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 2)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: true, clientSubject: "CN=stranger")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 2)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: true, clientSubject: "O=Gateway Tests,CN=client-one")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 0, "a known certificate wins over the anonymous consumer")
        #expect(throws: ConfigError.self) { try harness.compile("client-cert-auth", "{anonymous_consumer: nobody}") }
    }

    @Test func consumersAndCredentialsCarryTheSubject() throws {
        let config = try Self.parse(
            """
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
            consumers:
              - username: alice
                plugins:
                  client-cert-auth: {subject: "CN=alice,O=Example"}
              - username: bob
            credentials:
              - id: bob-cert
                consumer: bob
                plugins:
                  client-cert-auth: {subject: "CN=Bj\\\\c3\\\\b6rn,O=Example"}
            routes:
              - id: r
                uri: /*
                upstream_id: u
                plugins: {client-cert-auth: {}}
            """
        )
        #expect(config.consumers[0].credentials == [.clientCert(subject: "CN=alice,O=Example")])
        #expect(config.consumers[0].plugins.isEmpty, "a consumer's client-cert-auth is a credential, not a plugin")
        #expect(config.credentials[0].credentials == [.clientCert(subject: "CN=Bj\\C3\\B6rn,O=Example")])
        #expect(config.routes[0].plugins.map(\.name) == ["client-cert-auth"])

        let plan = try ProxyPlan(config: config)
        let chain = try #require(plan.plugins.chain(route: 0)).takeUnretainedValue()
        #expect(chain.plugins.map(\.plugin.descriptor.name) == ["client-cert-auth"])
        let harness = PluginHarness(consumers: plan.plugins.consumers)
        let plugin = try harness.compile("client-cert-auth", "{}")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: true, clientSubject: "CN=Bj\\C3\\B6rn,O=Example")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumerName.map { String(decoding: $0, as: UTF8.self) } == "bob")
    }

    @Test func badSettingsNameTheirKeyPath() throws {
        func issues(_ consumerSettings: String) -> [ConfigIssue] {
            do {
                _ = try Self.parse("consumers: [{username: a, plugins: {client-cert-auth: \(consumerSettings)}}]")
                return []
            } catch {
                return error.issues
            }
        }
        let path = "consumers[0].plugins.client-cert-auth"
        #expect(issues("{}").map(\.path) == ["\(path).subject"])
        #expect(issues("{subject: \"\"}").map(\.path) == ["\(path).subject"])
        #expect(issues("{subject: [CN=a]}").map(\.path) == ["\(path).subject"])
        let slashes = issues("{subject: /CN=client-one/O=Example}")
        #expect(slashes.map(\.path) == ["\(path).subject"])
        #expect(slashes.first?.reason.contains("RFC 2253") == true, "\(slashes)")
        #expect(issues("{subject: client-one}").map(\.path) == ["\(path).subject"], "no attribute type")
        #expect(issues("{subject: CN=a, key: x}").map(\.path) == ["\(path).key"])
        #expect(issues("{subject: \"CN=a,O=b\"}").isEmpty)

        #expect(PluginHarness.issues("client-cert-auth", "{}").isEmpty)
        let routeKey = PluginHarness.issues("client-cert-auth", "{subject: CN=a}")
        #expect(routeKey.map(\.path) == ["routes[0].plugins.client-cert-auth.subject"], "subject belongs on consumers")
        #expect(PluginHarness.issues("client-cert-auth", "{anonymous_consumer: 3}").count == 1)
    }

    @Test func subjectsAreWrittenAsOpenSSLPrintsThem() {
        let cases: [(String, String?)] = [
            ("O=Gateway Tests,CN=client-one", "O=Gateway Tests,CN=client-one"),
            ("CN=Jösé", "CN=J\\C3\\B6s\\C3\\A9"),
            ("CN=J\\c3\\b6s\\C3\\a9", "CN=J\\C3\\B6s\\C3\\A9"),
            ("CN=J\\ös", "CN=J\\C3\\B6s"),
            ("CN=Doe\\, Jane", "CN=Doe\\, Jane"),
            ("CN=a\\\\c3", "CN=a\\\\c3"),
            ("CN=trailing\\", "CN=trailing\\"),
            ("2.5.4.3=x", "2.5.4.3=x"),
            ("/CN=a/O=b", nil), ("CN", nil), ("=a", nil), (" CN=a", nil),
        ]
        for (written, printed) in cases {
            #expect(ClientCertAuthPlugin.printedSubject(written) == printed, "\(written)")
        }
    }

    /// Certificates made by the openssl CLI, their subjects printed as the TLS layer prints them
    /// (`X509_NAME_print_ex` with `XN_FLAG_RFC2253`): the documented way of writing `subject` matches.
    @Test func matchesSubjectsOfRealCertificates() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("client-cert-auth")
        defer { try? FileManager.default.removeItem(at: directory) }
        func subject(_ distinguishedName: String) async throws -> String {
            // Absolute paths: `in:` holds the command's output files, not its working directory.
            let base = directory.appendingPathComponent("cert-\(UUID().uuidString.prefix(8))")
            let certificate = base.appendingPathExtension("pem")
            let result = try await Command.run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    base.appendingPathExtension("key").path, "-out", certificate.path, "-days", "1", "-utf8", "-subj",
                    distinguishedName,
                ],
                in: directory,
                timeout: .seconds(60)
            )
            #expect(result.exitCode == 0, "\(result.log)")
            return try Self.printedSubject(ofCertificateAt: certificate)
        }
        let plain = try await subject("/CN=client-one/O=Gateway Tests")
        #expect(plain == "O=Gateway Tests,CN=client-one", "RFC 2253 lists the RDNs last first")
        let accented = try await subject("/CN=Jösé Müller/O=Gateway, Tests")
        let config = try Self.parse(
            """
            consumers:
              - username: one
                plugins: {client-cert-auth: {subject: "O=Gateway Tests,CN=client-one"}}
              - username: jose
                plugins: {client-cert-auth: {subject: "O=Gateway\\\\, Tests,CN=Jösé Müller"}}
            """
        )
        let plan = try ProxyPlan(config: config)
        let harness = PluginHarness(consumers: plan.plugins.consumers)
        let plugin = try harness.compile("client-cert-auth", "{}")
        for (printed, consumer) in [(plain, "one"), (accented, "jose")] {
            harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: true, clientSubject: printed)
            #expect(harness.run(plugin, .rewrite).proceeds, "\(printed)")
            #expect(harness.request.consumerName.map { String(decoding: $0, as: UTF8.self) } == consumer)
        }
    }

    /// The subject of the PEM certificate at `url`, printed with the flags the TLS layer uses.
    static func printedSubject(ofCertificateAt url: URL) throws -> String {
        let pem = try Data(contentsOf: url)
        let input = try #require(pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) })
        defer { BIO_free(input) }
        let certificate = try #require(PEM_read_bio_X509(input, nil, nil, nil))
        defer { X509_free(certificate) }
        let output = try #require(BIO_new(BIO_s_mem()))
        defer { BIO_free(output) }
        #expect(X509_NAME_print_ex(output, X509_get_subject_name(certificate), 0, gw_xn_flag_rfc2253()) >= 0)
        var bytes = [UInt8](repeating: 0, count: gw_bio_pending(output))
        let read = BIO_read(output, &bytes, Int32(bytes.count))
        return String(decoding: bytes.prefix(Int(max(0, read))), as: UTF8.self)
    }
}
