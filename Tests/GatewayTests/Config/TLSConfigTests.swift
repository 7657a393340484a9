import Foundation
import TestSupport
import Testing

@testable import Gateway

/// `listen` objects, `tls:`, `ssls:` and `limits.tls_handshake_timeout` read by ``ConfigLoader``, with
/// certificates made by the openssl CLI for each test: every refusal names its key path.
@Suite struct TLSConfigTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var yaml: String
        /// The path of the issue the case must produce.
        var path: String
        /// Text that issue's reason must contain.
        var reason: String

        var testDescription: String { name }
    }

    /// Settings that need no certificate.
    static let cases: [Case] = [
        Case(
            name: "listen object with an unknown key",
            yaml: "listen: [{address: \"127.0.0.1:8443\", tsl: true}]\n",
            path: "listen[0].tsl",
            reason: "unknown key \"tsl\""
        ),
        Case(
            name: "listen object without an address",
            yaml: "listen: [\"127.0.0.1:8080\", {tls: true}]\n",
            path: "listen[1].address",
            reason: "required key is missing"
        ),
        Case(
            name: "listen object with a host name",
            yaml: "listen: [{address: \"example.com:443\", tls: true}]\n",
            path: "listen[0].address",
            reason: "IPv4 or IPv6"
        ),
        Case(
            name: "listen tls not a boolean",
            yaml: "listen: [{address: \"127.0.0.1:8443\", tls: \"sometimes\"}]\n",
            path: "listen[0].tls",
            reason: "expected true or false"
        ),
        Case(
            name: "listen http2 not a boolean",
            yaml: "listen: [{address: \"127.0.0.1:8443\", http2: 2}]\n",
            path: "listen[0].http2",
            reason: "expected true or false"
        ),
        Case(
            name: "http2 section with an unknown key",
            yaml: "http2: {max_streams: 10}\n",
            path: "http2.max_streams",
            reason: "unknown key \"max_streams\""
        ),
        Case(
            name: "http2.max_concurrent_streams zero",
            yaml: "http2: {max_concurrent_streams: 0}\n",
            path: "http2.max_concurrent_streams",
            reason: "1"
        ),
        Case(
            name: "http2.max_header_list_size over 1m",
            yaml: "http2: {max_header_list_size: 2m}\n",
            path: "http2.max_header_list_size",
            reason: "at most 1m"
        ),
        Case(
            name: "http2.max_resets_per_second not a number",
            yaml: "http2: {max_resets_per_second: lots}\n",
            path: "http2.max_resets_per_second",
            reason: "integer"
        ),
        Case(
            name: "same port as plain and TLS",
            yaml: "listen: [\"127.0.0.1:8443\", {address: \"127.0.0.1:8443\", tls: true}]\n",
            path: "listen[1]",
            reason: "listed twice"
        ),
        Case(
            name: "tls.protocols with an unknown version",
            yaml: "tls: {protocols: [TLSv1.2, TLSv1.1]}\n",
            path: "tls.protocols[1]",
            reason: "\"TLSv1.1\" is not one of \"TLSv1.2\", \"TLSv1.3\""
        ),
        Case(
            name: "tls.protocols empty",
            yaml: "tls: {protocols: []}\n",
            path: "tls.protocols",
            reason: "needs at least one"
        ),
        Case(
            name: "tls.ciphers OpenSSL rejects",
            yaml: "tls: {ciphers: \"NOT-A-CIPHER:ALSO-NOT\"}\n",
            path: "tls.ciphers",
            reason: "OpenSSL accepts none of \"NOT-A-CIPHER:ALSO-NOT\""
        ),
        Case(
            name: "tls.ciphersuites OpenSSL rejects",
            yaml: "tls: {ciphersuites: \"TLS_NOT_A_SUITE\"}\n",
            path: "tls.ciphersuites",
            reason: "OpenSSL accepts none of \"TLS_NOT_A_SUITE\""
        ),
        Case(
            name: "tls.ciphers empty",
            yaml: "tls: {ciphers: \"\"}\n",
            path: "tls.ciphers",
            reason: "must not be empty"
        ),
        Case(
            name: "tls.default_ssl naming no entry",
            yaml: "tls: {default_ssl: nowhere}\n",
            path: "tls.default_ssl",
            reason: "no ssls entry has the id \"nowhere\""
        ),
        Case(
            name: "tls.ktls not a choice",
            yaml: "tls: {ktls: always}\n",
            path: "tls.ktls",
            reason: "\"always\" is not one of \"auto\", \"off\""
        ),
        Case(
            name: "tls unknown key",
            yaml: "tls: {protocol: [TLSv1.3]}\n",
            path: "tls.protocol",
            reason: "did you mean \"protocols\""
        ),
        Case(
            name: "tls.reject_expired not a boolean",
            yaml: "tls: {reject_expired: 1}\n",
            path: "tls.reject_expired",
            reason: "expected true or false"
        ),
        Case(
            name: "tls.session_cache_size negative",
            yaml: "tls: {session_cache_size: -1}\n",
            path: "tls.session_cache_size",
            reason: "-1"
        ),
        Case(
            name: "ssls not a list",
            yaml: "ssls: {id: a}\n",
            path: "ssls",
            reason: "expected"
        ),
        Case(
            name: "tls_handshake_timeout zero",
            yaml: "limits: {tls_handshake_timeout: 0}\n",
            path: "limits.tls_handshake_timeout",
            reason: "more than zero"
        ),
        Case(
            name: "tls_handshake_timeout not a duration",
            yaml: "limits: {tls_handshake_timeout: soon}\n",
            path: "limits.tls_handshake_timeout",
            reason: "expected a duration"
        ),
    ]

    @Test(arguments: cases) func namesThePath(_ testCase: Case) throws {
        let issue = try Self.issue(testCase.yaml, at: testCase.path)
        #expect(issue.reason.contains(testCase.reason), "\(issue)")
        #expect(issue.line != nil, "\(issue)")
    }

    // MARK: Listeners, settings and limits

    @Test func listenObjectsCarryTLS() throws {
        let config = try Self.parse(
            """
            listen:
              - "127.0.0.1:8080"
              - {address: "127.0.0.1:8443", tls: true}
              - {address: "[::1]:8444", tls: true, http2: false}
              - {address: "127.0.0.1:8081", tls: false}
              - {address: 8082}
            """
        )
        #expect(
            config.listen == [
                ListenAddress(host: "127.0.0.1", port: 8080),
                ListenAddress(host: "127.0.0.1", port: 8443, tls: true),
                ListenAddress(host: "::1", port: 8444, tls: true),
                ListenAddress(host: "127.0.0.1", port: 8081),
                ListenAddress(host: "0.0.0.0", port: 8082),
            ]
        )
        #expect(config.hasTLSListener)
        #expect(try !Self.parse("listen: [\"127.0.0.1:8080\", {address: \"127.0.0.1:8081\"}]\n").hasTLSListener)
    }

    @Test func http2ListenersAndSettings() throws {
        let config = try Self.parse(
            """
            listen:
              - {address: "127.0.0.1:8080", http2: true}
              - {address: "127.0.0.1:8443", tls: true, http2: true}
            http2: {max_concurrent_streams: 64, max_header_list_size: 32k, max_resets_per_second: 50, max_empty_frames: 8}
            """
        )
        #expect(config.listen.map(\.http2) == [true, true])
        #expect(config.http2.maxConcurrentStreams == 64)
        #expect(config.http2.maxHeaderListSize == 32 * 1024)
        #expect(config.http2.maxResetsPerSecond == 50)
        #expect(config.http2.maxEmptyFrames == 8)
        #expect(try Self.parse("workers: 1\n").http2 == HTTP2Settings())
    }

    @Test func portZeroMayRepeatBecauseTheKernelPicksEach() throws {
        let config = try Self.parse("listen: [{address: \"127.0.0.1:0\", tls: true}, \"127.0.0.1:0\"]\n")
        #expect(config.listen.map(\.port) == [0, 0])
        #expect(config.listen.map(\.tls) == [true, false])
    }

    @Test func tlsSettingsDefaultsAndValues() throws {
        let defaults = try Self.parse("workers: 1\n")
        #expect(defaults.tls == TLSSettings())
        #expect(defaults.tls.protocols == [.tls12, .tls13])
        #expect(defaults.tls.kernelTLS == .auto)
        #expect(!defaults.tls.rejectExpired)
        #expect(defaults.limits.tlsHandshakeTimeout == .seconds(10))

        let config = try Self.parse(
            """
            tls:
              protocols: [TLSv1.3]
              ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384"
              ciphersuites: "TLS_AES_256_GCM_SHA384"
              reject_expired: true
              session_tickets: false
              session_cache_size: 0
              ktls: "off"
            limits: {tls_handshake_timeout: 2500ms}
            """
        )
        #expect(config.tls.protocols == [.tls13])
        #expect(config.tls.ciphers == "ECDHE-ECDSA-AES256-GCM-SHA384")
        #expect(config.tls.cipherSuites == "TLS_AES_256_GCM_SHA384")
        #expect(config.tls.rejectExpired)
        #expect(!config.tls.sessionTickets)
        #expect(config.tls.sessionCacheSize == 0)
        #expect(config.tls.kernelTLS == .off)
        #expect(config.limits.tlsHandshakeTimeout == .milliseconds(2500))
        #expect(try Self.parse("tls: {protocols: TLSv1.2}\n").tls.protocols == [.tls12])
        #expect(try Self.parse("limits: {tls_handshake_timeout: 3}\n").limits.tlsHandshakeTimeout == .seconds(3))
    }

    /// YAML 1.1 reads a bare `off` as the boolean false: `ktls: off` must still mean "off", not an error.
    @Test func kernelTLSWrittenBare() throws {
        #expect(try Self.parse("tls: {ktls: off}\n").tls.kernelTLS == .off)
        #expect(try Self.parse("tls: {ktls: auto}\n").tls.kernelTLS == .auto)
        #expect(try Self.parse("tls: {ktls: false}\n").tls.kernelTLS == .off)
        #expect(try Self.parse("tls: {ktls: on}\n").tls.kernelTLS == .auto)
    }

    /// TLS 1.2 ciphers only matter when TLS 1.2 is offered, so OpenSSL is not asked about them otherwise.
    @Test func ciphersForAnAbsentVersionAreNotProbed() throws {
        let config = try Self.parse("tls: {protocols: [TLSv1.3], ciphers: \"NOT-A-CIPHER\"}\n")
        #expect(config.tls.ciphers == "NOT-A-CIPHER")
        let issue = try Self.issue(
            "tls: {protocols: [TLSv1.2], ciphersuites: \"TLS_NOPE\", ciphers: \"NOPE\"}\n",
            at: "tls.ciphers"
        )
        #expect(issue.reason.contains("\"NOPE\""), "\(issue)")
        // The issue's path already names the key; its reason does not repeat it.
        #expect(!issue.reason.hasPrefix("tls.ciphers"), "\(issue)")
    }

    // MARK: ssls

    @Test func inlineAndFileCertificates() async throws {
        try await Self.withCertificates("tls-config-ok") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let rsa = try await certificates.issue(["rsa.example.com"], key: .rsa)
            let config = try Self.parse(
                """
                tls: {default_ssl: api}
                ssls:
                  - id: api
                    snis: ["API.Example.com", "*.Example.com", "api.example.com"]
                    cert: \(Self.quoted(api.certificatePEM))
                    key: \(Self.quoted(api.keyPEM))
                  - {id: rsa, sni: rsa.example.com, cert_file: "\(rsa.certificate.path)", key_file: "\(rsa.key.path)"}
                """
            )
            #expect(config.tls.defaultSSL == "api")
            #expect(config.ssls.map(\.id) == ["api", "rsa"])
            let first = config.ssls[0]
            #expect(first.snis == ["api.example.com", "*.example.com"])
            #expect(first.path == "ssls[0]")
            #expect(first.enabled)
            #expect(first.client == nil)
            #expect(first.certificates.count == 1)
            #expect(first.certificates.first?.certificatePEM == api.certificatePEM)
            #expect(first.certificates.first?.keyPEM == api.keyPEM)
            #expect(first.certificates.first?.certificateOrigin == "ssls[0].cert")
            #expect(first.certificates.first?.keyOrigin == "ssls[0].key")
            // issue() makes certificates valid for 20 days.
            let now = Int64(Date().timeIntervalSince1970)
            #expect(first.expiry > now + 19 * 86400 && first.expiry < now + 21 * 86400, "\(first.expiry)")
            let second = config.ssls[1]
            #expect(second.snis == ["rsa.example.com"])
            #expect(second.certificates.first?.certificatePEM == rsa.certificatePEM)
            #expect(second.certificates.first?.keyPEM == rsa.keyPEM)
            #expect(second.certificates.first?.certificateOrigin == "ssls[1].cert_file")
            #expect(second.certificates.first?.keyOrigin == "ssls[1].key_file")
        }
    }

    @Test func missingCertificateOrKey() async throws {
        try await Self.withCertificates("tls-config-missing") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let noCertificate = try Self.issue(
                "ssls: [{id: a, snis: [a.test], key: \(Self.quoted(api.keyPEM))}]\n",
                at: "ssls[0].cert"
            )
            #expect(noCertificate.reason.contains("required key is missing"), "\(noCertificate)")
            #expect(noCertificate.reason.contains("cert_file"), "\(noCertificate)")
            let noKey = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert: \(Self.quoted(api.certificatePEM))}]\n",
                at: "ssls[0].key"
            )
            #expect(noKey.reason.contains("required key is missing"), "\(noKey)")
            let noID = try Self.issue(
                "ssls: [{snis: [a.test], cert_file: \"\(api.certificate.path)\", key_file: \"\(api.key.path)\"}]\n",
                at: "ssls[0].id"
            )
            #expect(noID.reason.contains("required key is missing"), "\(noID)")
        }
    }

    @Test func certificateAndFileBoth() async throws {
        try await Self.withCertificates("tls-config-both") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let issue = try Self.issue(
                """
                ssls:
                  - id: a
                    snis: [a.test]
                    cert: \(Self.quoted(api.certificatePEM))
                    cert_file: "\(api.certificate.path)"
                    key_file: "\(api.key.path)"
                """,
                at: "ssls[0].cert_file"
            )
            #expect(issue.reason.contains("give cert or cert_file, not both"), "\(issue)")
        }
    }

    @Test func unreadableFileNamesThePathAndTheReason() async throws {
        try await Self.withCertificates("tls-config-unreadable") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let missing = certificates.directory.appendingPathComponent("no-such.pem").path
            let issue = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert_file: \"\(missing)\", key_file: \"\(api.key.path)\"}]\n",
                at: "ssls[0].cert_file"
            )
            #expect(issue.reason.contains("cannot read \"\(missing)\""), "\(issue)")
            #expect(issue.reason.contains("No such file or directory"), "\(issue)")
            let missingKey = certificates.directory.appendingPathComponent("no-such.key").path
            let keyIssue = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert_file: \"\(api.certificate.path)\", key_file: \"\(missingKey)\"}]\n",
                at: "ssls[0].key_file"
            )
            #expect(keyIssue.reason.contains("No such file or directory"), "\(keyIssue)")
            // A directory opens but does not read.
            let folder = try Self.issue(
                """
                ssls: [{id: a, snis: [a.test], cert_file: "\(certificates.directory.path)", key_file: "\(api.key.path)"}]
                """,
                at: "ssls[0].cert_file"
            )
            #expect(folder.reason.contains("Is a directory"), "\(folder)")
        }
    }

    @Test func badPEM() async throws {
        try await Self.withCertificates("tls-config-pem") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let key = Self.quoted(api.keyPEM)
            let notPEM = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert: \"not a certificate\", key: \(key)}]\n",
                at: "ssls[0].cert"
            )
            #expect(notPEM.reason.contains("holds no PEM certificate"), "\(notPEM)")
            let damaged = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
            let damagedIssue = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert: \(Self.quoted(damaged)), key: \(key)}]\n",
                at: "ssls[0].cert"
            )
            #expect(damagedIssue.reason.contains("damaged PEM certificate"), "\(damagedIssue)")
            // Only the key is wrong: the issue names the key, not the certificate.
            let badKey = try Self.issue(
                "ssls: [{id: a, snis: [a.test], cert: \(Self.quoted(api.certificatePEM)), key: \"not a key\"}]\n",
                at: "ssls[0].key"
            )
            #expect(badKey.reason.contains("is not a PEM private key"), "\(badKey)")
            // A certificate file given as the key.
            let swapped = try Self.issue(
                """
                ssls: [{id: a, snis: [a.test], cert_file: "\(api.certificate.path)", key_file: "\(api.certificate.path)"}]
                """,
                at: "ssls[0].key_file"
            )
            #expect(swapped.reason.contains("is not a PEM private key"), "\(swapped)")
        }
    }

    @Test func keyThatIsNotTheCertificatesNamesTheCertificate() async throws {
        try await Self.withCertificates("tls-config-mismatch") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let other = try await certificates.issue(["other.example.com"])
            let error = try Self.error(
                """
                ssls:
                  - id: a
                    snis: [api.example.com]
                    cert: \(Self.quoted(api.certificatePEM))
                    key: \(Self.quoted(other.keyPEM))
                """
            )
            let issue = try #require(error.issues.first { $0.path == "ssls[0].cert" }, "\(error)")
            #expect(issue.reason.contains("the private key does not match the certificate"), "\(issue)")
            #expect(error.issues.count == 1, "\(error)")
            // The refusal never quotes the key it refused.
            #expect(!error.description.contains("PRIVATE KEY"), "\(error)")
            #expect(!error.description.contains(Self.keyBody(other.keyPEM)))
        }
    }

    @Test func expiredCertificateWarnsByDefaultAndIsRefusedOnRequest() async throws {
        try await Self.withCertificates("tls-config-expired") { certificates in
            let expired = try await certificates.issue(
                ["old.example.com"],
                validity: (notBefore: "20200101000000Z", notAfter: "20200201000000Z")
            )
            let entry = """
                ssls:
                  - {id: old, snis: [old.example.com], cert_file: "\(expired.certificate.path)", key_file: "\(expired.key.path)"}
                """
            let accepted = try Self.parse(entry)
            #expect(accepted.ssls.map(\.id) == ["old"])
            // 2020-02-01T00:00:00Z
            #expect(accepted.ssls.first?.expiry == 1_580_515_200)
            // Accepted, with a warning at the key path that holds the certificate.
            let warning = try #require(accepted.warnings.first, "no warning for an expired certificate")
            #expect(accepted.warnings.count == 1, "\(accepted.warnings)")
            #expect(warning.path == "ssls[0].cert_file", "\(warning)")
            #expect(warning.reason == "certificate expired on 2020-02-01T00:00:00Z (not after)", "\(warning)")
            #expect(warning.line == 2, "\(warning)")
            #expect(try Self.parse(entry + "\ntls: {reject_expired: false}\n").warnings == accepted.warnings)
            // `tls:` after `ssls:` in the file: the setting applies whatever the order.
            let issue = try Self.issue(entry + "\ntls: {reject_expired: true}\n", at: "ssls[0].cert_file")
            #expect(issue.reason.contains("expired at 2020-02-01T00:00:00Z"), "\(issue)")
            #expect(issue.reason.contains("tls.reject_expired"), "\(issue)")
            #expect(try Self.parse(entry + "\ntls: {reject_expired: false}\n").ssls.count == 1)
        }
    }

    @Test func certificatesNearTheirEndWarnAndOthersDoNot() async throws {
        try await Self.withCertificates("tls-config-expiring") { certificates in
            let fresh = try await certificates.issue(["fresh.example.com"], days: 20)
            let ending = try await certificates.issue(["ending.example.com"], days: 2)
            let expiredClient = try await certificates.issue(
                ["client.example.com"],
                client: true,
                validity: (notBefore: "20200101000000Z", notAfter: "20200201000000Z")
            )
            func files(_ issued: TestCertificates.Issued) -> String {
                "cert_file: \"\(issued.certificate.path)\", key_file: \"\(issued.key.path)\""
            }
            let config = try Self.parse(
                """
                ssls:
                  - {id: fresh, snis: [fresh.example.com], \(files(fresh))}
                  - {id: ending, snis: [ending.example.com], cert: \(Self.quoted(ending.certificatePEM)), key: \(Self.quoted(ending.keyPEM))}
                upstreams:
                  - id: mtls
                    scheme: https
                    nodes: {"127.0.0.1:9443": 1}
                    tls: {client_cert_file: "\(expiredClient.certificate.path)", client_key_file: "\(expiredClient.key.path)"}
                """
            )
            #expect(config.warnings.map(\.path) == ["ssls[1].cert", "upstreams[0].tls.client_cert_file"])
            let ending1 = try #require(config.warnings.first)
            #expect(ending1.reason.hasPrefix("certificate expires on "), "\(ending1)")
            // Two days from openssl's clock, in whole days from ours: just under two, or exactly two.
            #expect(
                ending1.reason.hasSuffix("(not after), in 1 day") || ending1.reason.hasSuffix("(not after), in 2 days"),
                "\(ending1)"
            )
            #expect(config.warnings.last?.reason == "certificate expired on 2020-02-01T00:00:00Z (not after)")
            // A warning never quotes the PEM it warns about.
            #expect(!config.warnings.description.contains("BEGIN"))
        }
    }

    @Test(arguments: [
        "bad_name.example.com", "*.*.example.com", "api..example.com", "*", "api.example.com:443", "ex ample.com",
        "api.example.com.", String(repeating: "a", count: 64) + ".example.com",
    ])
    func invalidServerName(_ name: String) throws {
        // The name is checked before the PEM: no certificate is needed to see it refused.
        let issue = try Self.issue("ssls: [{id: a, snis: [\"\(name)\"], cert: c, key: k}]\n", at: "ssls[0].snis[0]")
        #expect(issue.reason.contains("is not a host name or a wildcard"), "\(issue)")
    }

    @Test func serverNameShapes() async throws {
        try await Self.withCertificates("tls-config-sni-shapes") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let files = "cert_file: \"\(api.certificate.path)\", key_file: \"\(api.key.path)\""
            let single = try Self.issue("ssls: [{id: a, sni: \"bad name\", \(files)}]\n", at: "ssls[0].sni")
            #expect(single.reason.contains("is not a host name"), "\(single)")
            let empty = try Self.issue("ssls: [{id: a, snis: [\"\"], \(files)}]\n", at: "ssls[0].snis[0]")
            #expect(empty.reason.contains("must not be empty"), "\(empty)")
            let notList = try Self.issue("ssls: [{id: a, snis: api.example.com, \(files)}]\n", at: "ssls[0].snis")
            #expect(notList.reason.contains("expected"), "\(notList)")
            // No SNI at all: the entry can still serve as tls.default_ssl.
            let none = try Self.parse("tls: {default_ssl: a}\nssls: [{id: a, \(files)}]\n")
            #expect(none.ssls.first?.snis == [])
        }
    }

    @Test func duplicateIDAndStatus() async throws {
        try await Self.withCertificates("tls-config-ids") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let files = "cert_file: \"\(api.certificate.path)\", key_file: \"\(api.key.path)\""
            let duplicate = try Self.issue(
                """
                ssls:
                  - {id: a, snis: [a.example.com], \(files)}
                  - {id: a, snis: [b.example.com], \(files)}
                """,
                at: "ssls[1].id"
            )
            #expect(duplicate.reason.contains("duplicate ssl id \"a\" (first used by ssls[0])"), "\(duplicate)")
            let config = try Self.parse(
                """
                ssls:
                  - {id: 1, status: 0, snis: [a.example.com], \(files)}
                  - {id: 2, status: 1, snis: [b.example.com], \(files)}
                """
            )
            #expect(config.ssls.map(\.id) == ["1", "2"])
            #expect(config.ssls.map(\.enabled) == [false, true])
            let status = try Self.issue("ssls: [{id: a, status: 2, \(files)}]\n", at: "ssls[0].status")
            #expect(status.reason.contains("2"), "\(status)")
            let type = try Self.issue("ssls: [{id: a, type: client, \(files)}]\n", at: "ssls[0].type")
            #expect(type.reason.contains("only \"server\""), "\(type)")
            let unknown = try Self.issue("ssls: [{id: a, snii: [a.test], \(files)}]\n", at: "ssls[0].snii")
            #expect(unknown.reason.contains("unknown key"), "\(unknown)")
            // APISIX's descriptive keys are accepted.
            let described = try Self.parse(
                "ssls: [{id: a, type: server, name: n, desc: d, labels: {team: edge}, \(files)}]\n"
            )
            #expect(described.ssls.count == 1)
        }
    }

    @Test func certsAndKeysPairUp() async throws {
        try await Self.withCertificates("tls-config-pairs") { certificates in
            let ecdsa = try await certificates.issue(["api.example.com"])
            let rsa = try await certificates.issue(["api.example.com"], key: .rsa)
            let main =
                "id: a, snis: [api.example.com], cert_file: \"\(ecdsa.certificate.path)\", "
                + "key_file: \"\(ecdsa.key.path)\""
            let config = try Self.parse(
                "ssls: [{\(main), certs: [\(Self.quoted(rsa.certificatePEM))], keys: [\(Self.quoted(rsa.keyPEM))]}]\n"
            )
            let pairs = try #require(config.ssls.first?.certificates)
            #expect(pairs.count == 2)
            #expect(pairs.last?.certificatePEM == rsa.certificatePEM)
            #expect(pairs.last?.keyPEM == rsa.keyPEM)
            #expect(pairs.last?.certificateOrigin == "ssls[0].certs[0]")
            #expect(pairs.last?.keyOrigin == "ssls[0].keys[0]")

            let withoutKeys = try Self.issue(
                "ssls: [{\(main), certs: [\(Self.quoted(rsa.certificatePEM))]}]\n",
                at: "ssls[0].keys"
            )
            #expect(withoutKeys.reason.contains("certs and keys go together"), "\(withoutKeys)")
            let withoutCerts = try Self.issue(
                "ssls: [{\(main), keys: [\(Self.quoted(rsa.keyPEM))]}]\n",
                at: "ssls[0].certs"
            )
            #expect(withoutCerts.reason.contains("certs and keys go together"), "\(withoutCerts)")
            let uneven = try Self.issue(
                "ssls: [{\(main), certs: [\(Self.quoted(rsa.certificatePEM)), \(Self.quoted(ecdsa.certificatePEM))], "
                    + "keys: [\(Self.quoted(rsa.keyPEM))]}]\n",
                at: "ssls[0].keys"
            )
            #expect(uneven.reason.contains("needs one key per certificate in certs (2)"), "\(uneven)")
            // Pairs are matched in order: swapped keys do not belong to their certificates.
            let swapped = try Self.error(
                "ssls: [{\(main), certs: [\(Self.quoted(rsa.certificatePEM)), \(Self.quoted(ecdsa.certificatePEM))], "
                    + "keys: [\(Self.quoted(ecdsa.keyPEM)), \(Self.quoted(rsa.keyPEM))]}]\n"
            )
            #expect(swapped.issues.map(\.path) == ["ssls[0].certs[0]", "ssls[0].certs[1]"], "\(swapped)")
            #expect(swapped.issues.allSatisfy { $0.reason.contains("does not match") }, "\(swapped)")
        }
    }

    @Test func clientVerification() async throws {
        try await Self.withCertificates("tls-config-client") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let files =
                "id: a, snis: [api.example.com], cert_file: \"\(api.certificate.path)\", "
                + "key_file: \"\(api.key.path)\""
            let caPEM = certificates.authority.certificatePEM
            let config = try Self.parse(
                "ssls: [{\(files), client: {ca: \(Self.quoted(caPEM)), depth: 2, required: true}}]\n"
            )
            #expect(config.ssls.first?.client == SSLClientVerification(caPEM: caPEM, depth: 2, required: true))
            let defaults = try Self.parse(
                "ssls: [{\(files), client: {ca_file: \"\(certificates.authority.certificate.path)\"}}]\n"
            )
            #expect(defaults.ssls.first?.client == SSLClientVerification(caPEM: caPEM, depth: 1, required: false))

            let notPEM = try Self.issue("ssls: [{\(files), client: {ca: \"not a CA\"}}]\n", at: "ssls[0].client.ca")
            #expect(notPEM.reason.contains("holds no PEM certificate"), "\(notPEM)")
            let damaged = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2E=\n-----END CERTIFICATE-----\n"
            let damagedCA = try Self.issue(
                "ssls: [{\(files), client: {ca: \(Self.quoted(damaged))}}]\n",
                at: "ssls[0].client.ca"
            )
            #expect(damagedCA.reason.contains("damaged PEM certificate"), "\(damagedCA)")
            let missingCA = try Self.issue("ssls: [{\(files), client: {depth: 1}}]\n", at: "ssls[0].client.ca")
            #expect(missingCA.reason.contains("required key is missing"), "\(missingCA)")
            let unreadable = certificates.directory.appendingPathComponent("no-ca.pem").path
            let unreadableCA = try Self.issue(
                "ssls: [{\(files), client: {ca_file: \"\(unreadable)\"}}]\n",
                at: "ssls[0].client.ca_file"
            )
            #expect(unreadableCA.reason.contains("No such file or directory"), "\(unreadableCA)")
            let depth = try Self.issue(
                "ssls: [{\(files), client: {ca: \(Self.quoted(caPEM)), depth: 17}}]\n",
                at: "ssls[0].client.depth"
            )
            #expect(depth.reason.contains("17"), "\(depth)")
            let required = try Self.issue(
                "ssls: [{\(files), client: {ca: \(Self.quoted(caPEM)), required: \"yes please\"}}]\n",
                at: "ssls[0].client.required"
            )
            #expect(required.reason.contains("expected true or false"), "\(required)")
            let regex = try Self.issue(
                "ssls: [{\(files), client: {ca: \(Self.quoted(caPEM)), skip_mtls_uri_regex: [\"/health\"]}}]\n",
                at: "ssls[0].client.skip_mtls_uri_regex"
            )
            #expect(regex.reason.contains("is not supported"), "\(regex)")
        }
    }

    @Test func defaultSSLNamesAnEntry() async throws {
        try await Self.withCertificates("tls-config-default") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let entry =
                "ssls: [{id: api, snis: [api.example.com], cert_file: \"\(api.certificate.path)\", "
                + "key_file: \"\(api.key.path)\"}]\n"
            #expect(try Self.parse("tls: {default_ssl: api}\n" + entry).tls.defaultSSL == "api")
            let issue = try Self.issue("tls: {default_ssl: API}\n" + entry, at: "tls.default_ssl")
            #expect(issue.reason.contains("no ssls entry has the id \"API\""), "\(issue)")
        }
    }

    /// A printed configuration (logs, `/status`, test failures) never carries a private key.
    @Test func printedConfigurationHoldsNoPrivateKey() async throws {
        try await Self.withCertificates("tls-config-print") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            let rsa = try await certificates.issue(["api.example.com"], key: .rsa)
            let config = try Self.parse(
                """
                listen: [{address: "127.0.0.1:0", tls: true}]
                tls: {default_ssl: api}
                ssls:
                  - id: api
                    snis: [api.example.com]
                    cert: \(Self.quoted(api.certificatePEM))
                    key: \(Self.quoted(api.keyPEM))
                    certs: [\(Self.quoted(rsa.certificatePEM))]
                    keys: [\(Self.quoted(rsa.keyPEM))]
                    client: {ca: \(Self.quoted(certificates.authority.certificatePEM))}
                """
            )
            let ssl = try #require(config.ssls.first)
            #expect(ssl.certificates.count == 2)
            let printed = [
                String(describing: config), String(reflecting: config), "\(config)", String(describing: ssl),
                String(reflecting: ssl), String(describing: ssl.certificates), String(describing: ssl.certificates[0]),
                String(reflecting: ssl.certificates[0]),
            ]
            for text in printed {
                #expect(!text.contains("PRIVATE KEY"), "\(text.prefix(300))")
                #expect(!text.contains(Self.keyBody(api.keyPEM)))
                #expect(!text.contains(Self.keyBody(rsa.keyPEM)))
            }
            // What it does print: where the key came from.
            #expect(String(describing: ssl.certificates[0]).contains("key ssls[0].key"))
            #expect(String(describing: ssl).contains("ssls[0].keys[0]"))
        }
    }

    // MARK: Helpers

    /// Runs `body` with a fresh test CA in a temporary directory, removed afterwards.
    static func withCertificates(
        _ label: String,
        _ body: (TestCertificates) async throws -> Void
    ) async throws {
        let directory = try TestFiles.makeTemporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(try await TestCertificates.authority(in: directory))
    }

    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "tls-test", environment: [:], resolveHostnames: false)
    }

    /// The error `yaml` is refused with; a recorded failure (and a thrown error) when it is accepted.
    static func error(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigError {
        do {
            _ = try parse(yaml)
        } catch {
            return error
        }
        Issue.record("accepted, expected a refusal:\n\(yaml.prefix(600))", sourceLocation: sourceLocation)
        throw ConfigError(code: .invalid, issues: [], sourceName: "tls-test")
    }

    /// The issue at `path` in the refusal of `yaml`.
    static func issue(
        _ yaml: String,
        at path: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ConfigIssue {
        let error = try error(yaml, sourceLocation: sourceLocation)
        #expect(error.code == .invalid, sourceLocation: sourceLocation)
        return try #require(
            error.issues.first { $0.path == path },
            "no issue at \(path): \(error.description)",
            sourceLocation: sourceLocation
        )
    }

    /// `text` as a YAML double-quoted scalar (PEM's line breaks as `\n`).
    static func quoted(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    /// The first base64 line of a PEM key: text that appears only where the key itself is printed.
    static func keyBody(_ pem: String) -> String {
        String(pem.split(separator: "\n").dropFirst().first ?? "")
    }
}
