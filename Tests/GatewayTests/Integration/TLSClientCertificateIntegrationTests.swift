import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Downstream mTLS and certificate reload, with curl and openssl s_client as the clients.
@Suite("Integration: TLS client certificates and reload")
struct TLSClientCertificateIntegrationTests {
    @Test(
        "mTLS: required refuses the handshake without a certificate, optional answers 400 with the reason, a certificate from the CA passes and its subject reaches the access log"
    )
    func clientCertificates() async throws {
        let logFile = LockedValue<URL?>(nil)
        let routes = """
              - id: by-certificate
                uri: /auth/*
                upstream_id: backend
                plugins:
                  client-cert-auth: {}
                  proxy-rewrite: {uri: /headers, headers: {set: {X-Consumer: "$consumer_name"}}}
            """
        try await TLSIntegrationTests.withGateway("tls-mtls", routes: routes) { certificates in
            let required = try await certificates.issue(["required.example.com"])
            let optional = try await certificates.issue(["optional.example.com"])
            let ca = certificates.authority.certificate.path
            let log = certificates.directory.appendingPathComponent("access.log")
            logFile.withLock { $0 = log }
            return """
                access_log: {enabled: true, path: "\(log.path)", format: json, compression: none, flush_interval: 0.1}
                consumers:
                  - username: client-one
                    plugins: {client-cert-auth: {subject: "O=Gateway Tests,CN=client-one"}}
                ssls:
                  - id: required
                    snis: [required.example.com]
                    cert_file: "\(required.certificate.path)"
                    key_file: "\(required.key.path)"
                    client: {ca_file: "\(ca)", required: true}
                  - id: optional
                    snis: [optional.example.com]
                    cert_file: "\(optional.certificate.path)"
                    key_file: "\(optional.key.path)"
                    client: {ca_file: "\(ca)"}
                """
        } _: { tls in
            let client = try await tls.certificates.issue(["client-one"], client: true)
            let stranger = try await TestCertificates.authority(in: tls.directory, name: "Other CA")
            let foreign = try await stranger.issue(["intruder"], client: true)
            let withCertificate = ["--cert", client.certificate.path, "--key", client.key.path]

            let refused = try await tls.curl("required.example.com")
            #expect(refused.status == 0 && refused.exitCode != 0, "handshake without a certificate must fail")
            let accepted = try await tls.curl("required.example.com", "/headers", withCertificate)
            #expect(accepted.status == 200, "\(accepted.bodyString)")

            let missing = try await tls.curl("optional.example.com")
            #expect(missing.status == 400)
            #expect(missing.bodyString.contains("no required SSL certificate was sent"), "\(missing.bodyString)")
            let bad = try await tls.curl(
                "optional.example.com",
                "/headers",
                ["--cert", foreign.certificate.path, "--key", foreign.key.path]
            )
            #expect(bad.status == 400)
            #expect(bad.bodyString.contains("certificate"), "\(bad.bodyString)")
            let good = try await tls.curl("optional.example.com", "/headers", withCertificate)
            #expect(good.status == 200)
            // The verified subject names the consumer.
            let mapped = try await tls.curl("optional.example.com", "/auth/x", withCertificate)
            #expect(mapped.status == 200, "\(mapped.bodyString)")
            let headers = HeaderIntegrationTests.upstreamHeaders(try mapped.jsonObject())
            #expect(HeaderIntegrationTests.values(headers, "X-Consumer") == ["client-one"])

            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_handshakes_total", ["result": "client_certificate"]) >= 1)
            let path = try #require(logFile.value)
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    let text = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
                    return text.split(separator: "\n").contains { line in
                        line.contains("\"tls_client_subject\":\"O=Gateway Tests,CN=client-one\"")
                            && line.contains("\"tls_protocol\":\"TLSv1.3\"")
                    }
                },
                "access log: \((try? String(contentsOf: path, encoding: .utf8)) ?? "")"
            )
        }
    }

    @Test("mTLS over HTTP/2: every stream of a connection without a certificate gets 400; with one it passes")
    func clientCertificatesOverHTTP2() async throws {
        try await TLSIntegrationTests.withGateway("tls-mtls-h2", http2: true) { certificates in
            let optional = try await certificates.issue(["optional.example.com"])
            return """
                ssls:
                  - id: optional
                    snis: [optional.example.com]
                    cert_file: "\(optional.certificate.path)"
                    key_file: "\(optional.key.path)"
                    client: {ca_file: "\(certificates.authority.certificate.path)"}
                """
        } _: { tls in
            let client = try await tls.certificates.issue(["client-one"], client: true)
            let missing = try await tls.curl("optional.example.com", "/headers", ["--http2"])
            #expect(missing.status == 400)
            #expect(missing.bodyString.contains("no required SSL certificate was sent"), "\(missing.bodyString)")
            #expect(missing.heads.last?.statusLine.hasPrefix("HTTP/2 ") == true, "\(missing.heads)")
            let good = try await tls.curl(
                "optional.example.com",
                "/headers",
                ["--http2", "--cert", client.certificate.path, "--key", client.key.path]
            )
            #expect(good.status == 200, "\(good.bodyString)")
            #expect(good.heads.last?.statusLine.hasPrefix("HTTP/2 ") == true, "\(good.heads)")
        }
    }

    @Test(
        "Certificates swapped by SIGHUP while a download runs: the download completes, new connections get the new one"
    )
    func reloadSwapsCertificates() async throws {
        let configured = LockedValue<(URL, URL)?>(nil)
        try await TLSIntegrationTests.withGateway("tls-reload") { certificates in
            let first = try await certificates.issue(["api.example.com"])
            let paths = (
                certificates.directory.appendingPathComponent("live.pem"),
                certificates.directory.appendingPathComponent("live.key")
            )
            try FileManager.default.copyItem(at: first.certificate, to: paths.0)
            try FileManager.default.copyItem(at: first.key, to: paths.1)
            configured.withLock { $0 = paths }
            return """
                tls: {default_ssl: api}
                ssls: [{id: api, snis: [api.example.com], cert_file: "\(paths.0.path)", key_file: "\(paths.1.path)"}]
                """
        } _: { tls in
            let (certificatePath, keyPath) = try #require(configured.value)
            let serial = { () async throws -> String in
                let result = try await Command.run(
                    "openssl",
                    ["s_client", "-connect", "127.0.0.1:\(tls.tlsPort)", "-servername", "api.example.com"],
                    in: tls.directory,
                    input: Data(),
                    timeout: .seconds(20)
                )
                let pem = result.stdout.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().first ?? ""
                return String(pem.prefix(200))
            }
            let before = try await serial()
            // ~40 MB at 8 MB/s: the download spans the reload.
            let download = Task {
                try await tls.curl("api.example.com", "/big?size=40000000", ["--limit-rate", "8M"])
            }
            try await Task.sleep(for: .milliseconds(800))
            let second = try await tls.certificates.issue(["api.example.com"])
            try FileManager.default.removeItem(at: certificatePath)
            try FileManager.default.removeItem(at: keyPath)
            try FileManager.default.copyItem(at: second.certificate, to: certificatePath)
            try FileManager.default.copyItem(at: second.key, to: keyPath)
            kill(tls.gateway.pid, SIGHUP)
            #expect(try await ReloadIntegrationTests.waitForGeneration(tls.gateway, 1))
            let after = try await serial()
            #expect(!before.isEmpty && before != after, "new connections get the new certificate")
            let finished = try await download.value
            #expect(finished.exitCode == 0 && finished.status == 200, "download: exit \(finished.exitCode)")
            #expect(finished.body.count == 40_000_000)
            #expect(finished.seconds > 2, "the download spanned the reload (\(finished.seconds) s)")
        }
    }
}
