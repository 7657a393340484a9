import Foundation
import TestSupport
import Testing

/// TLS termination end to end with real clients: openssl s_client for SNI, curl over TLS 1.2 and 1.3,
/// Python `ssl` for resumption and for the bytes a misbehaving client sends.
@Suite("Integration: TLS termination")
struct TLSIntegrationTests {
    static func withGateway(
        _ label: String,
        limits: String = "",
        routes: String = "",
        http2: Bool = false,
        extra: (TestCertificates) async throws -> String,
        _ body: (TLSGateway) async throws -> Void
    ) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let certificates = try await TestCertificates.authority(in: directory)
        let tls = try await TLSGateway.start(
            label,
            directory: directory,
            certificates: certificates,
            extra: try await extra(certificates),
            limits: limits,
            routes: routes,
            http2: http2
        )
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(tls)
        } tearDown: {
            let clean = await tls.gateway.finish()
            await tls.upstream.stop()
            return clean
        }
    }

    /// Two exact names (one RSA, one ECDSA) and a wildcard, the ECDSA one the default.
    static func sniConfig(_ certificates: TestCertificates) async throws -> String {
        let api = try await certificates.issue(["api.example.com"])
        let admin = try await certificates.issue(["admin.example.com"], key: .rsa)
        let wildcard = try await certificates.issue(["*.example.com"])
        return """
            tls: {default_ssl: api}
            ssls:
              - {id: api, snis: [api.example.com], cert_file: "\(api.certificate.path)", key_file: "\(api.key.path)"}
              - {id: admin, snis: [admin.example.com], cert_file: "\(admin.certificate.path)", key_file: "\(admin.key.path)"}
              - {id: wild, snis: ["*.example.com"], cert_file: "\(wildcard.certificate.path)", key_file: "\(wildcard.key.path)"}
            """
    }

    @Test("SNI picks the certificate: exact names (RSA and ECDSA), then the wildcard, then tls.default_ssl")
    func sniSelection() async throws {
        try await Self.withGateway("tls-sni", extra: Self.sniConfig) { tls in
            let cases: [(String?, String)] = [
                ("api.example.com", "CN = api.example.com"),
                ("admin.example.com", "CN = admin.example.com"),
                ("shop.example.com", "CN = *.example.com"),
                ("ADMIN.Example.COM", "CN = admin.example.com"),
                ("other.test", "CN = api.example.com"),
                (nil, "CN = api.example.com"),
            ]
            for (name, expected) in cases {
                let presented = try await tls.presentedSubject(serverName: name)
                #expect(presented.subject?.contains(expected) == true, "\(name ?? "no SNI"): \(presented.output)")
            }
            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_handshakes_total", ["result": "success"]) >= 6)
        }
    }

    @Test("curl over TLS 1.2 and 1.3 reaches the upstream with X-Forwarded-Proto https; handshakes counted by protocol")
    func curlBothVersions() async throws {
        try await Self.withGateway("tls-curl", extra: Self.sniConfig) { tls in
            for (flags, version) in [(["--tlsv1.2", "--tls-max", "1.2"], "TLSv1.2"), (["--tlsv1.3"], "TLSv1.3")] {
                let result = try await tls.curl("api.example.com", "/headers", flags)
                #expect(result.status == 200, "\(version): \(result.bodyString)")
                let headers = HeaderIntegrationTests.upstreamHeaders(try result.jsonObject())
                #expect(HeaderIntegrationTests.values(headers, "X-Forwarded-Proto") == ["https"])
            }
            // A large body crosses many records both ways.
            let big = try await tls.curl("shop.example.com", "/big?size=3000000")
            #expect(big.status == 200 && big.body.count == 3_000_000)
            let upload = try await tls.curl(
                "api.example.com",
                "/upload",
                ["--data-binary", "@\(tls.certificates.authority.certificate.path)"]
            )
            #expect(upload.status == 200, "\(upload.bodyString)")
            let plain = try await Curl.run("\(tls.gateway.url)/headers", in: tls.directory)
            let plainHeaders = HeaderIntegrationTests.upstreamHeaders(try plain.jsonObject())
            #expect(HeaderIntegrationTests.values(plainHeaders, "X-Forwarded-Proto") == ["http"])
            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_handshakes_total", ["result": "success", "protocol": "TLSv1.2"]) >= 1)
            #expect(metrics.sum("gateway_tls_handshakes_total", ["result": "success", "protocol": "TLSv1.3"]) >= 3)
            #expect(metrics.sum("gateway_tls_handshake_duration_seconds_count") >= 4)
            let expiry = metrics.value(
                "gateway_tls_certificate_expiry_timestamp_seconds",
                ["ssl_id": "wild", "sni": "*.example.com"]
            )
            let now = Date().timeIntervalSince1970
            #expect(
                expiry.map { $0 > now + 19 * 86400 && $0 < now + 21 * 86400 } == true,
                "\(String(describing: expiry))"
            )
        }
    }

    @Test("Python ssl: the second connection resumes with a ticket (TLS 1.3 and 1.2) and resumptions are counted")
    func resumption() async throws {
        try await Self.withGateway("tls-resume", extra: Self.sniConfig) { tls in
            let output = try await tls.python(
                """
                import socket, ssl, sys
                port, ca = int(sys.argv[1]), sys.argv[2]
                for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
                    context = ssl.create_default_context(cafile=ca)
                    context.minimum_version = context.maximum_version = version
                    session = None
                    for attempt in range(2):
                        with socket.create_connection(("127.0.0.1", port)) as raw:
                            with context.wrap_socket(raw, server_hostname="api.example.com", session=session) as conn:
                                conn.sendall(b"GET /headers HTTP/1.1\\r\\nHost: api.example.com\\r\\nConnection: close\\r\\n\\r\\n")
                                data = b""
                                while chunk := conn.recv(65536):
                                    data += chunk
                                assert data.startswith(b"HTTP/1.1 200"), data[:100]
                                print(version.name, attempt, conn.session_reused)
                                session = conn.session
                """
            )
            #expect(output.contains("TLSv1_3 0 False") && output.contains("TLSv1_3 1 True"), "\(output)")
            #expect(output.contains("TLSv1_2 0 False") && output.contains("TLSv1_2 1 True"), "\(output)")
            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_resumptions_total") >= 2)
        }
    }

    @Test("A keep-alive TLS connection idle past the buffer trim (1 s) serves its next requests")
    func idleTrim() async throws {
        try await Self.withGateway("tls-idle", extra: Self.sniConfig) { tls in
            let output = try await tls.python(
                """
                import socket, ssl, sys, time
                port, ca = int(sys.argv[1]), sys.argv[2]
                context = ssl.create_default_context(cafile=ca)
                with socket.create_connection(("127.0.0.1", port)) as raw:
                    with context.wrap_socket(raw, server_hostname="api.example.com") as conn:
                        reader = conn.makefile("rb")
                        for pause in (0, 1.6, 0, 2.2):
                            time.sleep(pause)
                            conn.sendall(b"GET /big?size=70000 HTTP/1.1\\r\\nHost: api.example.com\\r\\n\\r\\n")
                            status = reader.readline()
                            length = 0
                            while (line := reader.readline()) != b"\\r\\n":
                                if line.lower().startswith(b"content-length:"):
                                    length = int(line.split(b":")[1])
                            body = reader.read(length)
                            print(status.split()[1].decode(), len(body))
                """
            )
            #expect(
                output.split(separator: "\n").map(String.init) == Array(repeating: "200 70000", count: 4),
                "\(output)"
            )
        }
    }

    @Test(
        "Bad input: plain HTTP gets a 400 and closes, garbage and truncated records close, a stalled handshake closes at the timeout; each is counted and the gateway keeps serving"
    )
    func badInput() async throws {
        try await Self.withGateway(
            "tls-bad",
            limits: "limits: {tls_handshake_timeout: 1s}",
            extra: Self.sniConfig
        ) { tls in
            let output = try await tls.python(
                """
                import socket, sys, time
                port = int(sys.argv[1])
                def exchange(payload, wait=5):
                    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
                        if payload: s.sendall(payload)
                        data = b""
                        try:
                            while chunk := s.recv(4096):
                                data += chunk
                        except (ConnectionResetError, socket.timeout) as error:
                            return data, type(error).__name__
                        return data, "closed"
                data, how = exchange(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                print("plain", how, data.split(b"\\r\\n")[0].decode())
                data, how = exchange(bytes(range(256)) * 4)
                print("garbage", how)
                # A record header announcing 512 bytes, then only 10 of them and an end of stream.
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.sendall(b"\\x16\\x03\\x01\\x02\\x00" + b"\\x01" * 10)
                    s.shutdown(socket.SHUT_WR)
                    s.settimeout(5)
                    print("truncated", s.recv(100))
                start = time.monotonic()
                data, how = exchange(b"\\x16\\x03\\x01", wait=10)
                print("stalled", how, round(time.monotonic() - start, 1))
                """
            )
            #expect(output.contains("plain closed HTTP/1.1 400 Bad Request"), "\(output)")
            #expect(output.contains("garbage closed") || output.contains("garbage ConnectionResetError"), "\(output)")
            #expect(output.contains("truncated b''"), "\(output)")
            let stalled = output.split(separator: "\n").first { $0.hasPrefix("stalled") } ?? ""
            #expect(stalled.hasPrefix("stalled closed"), "\(output)")
            if let seconds = Double(stalled.split(separator: " ").last ?? "") {
                #expect(seconds >= 0.9 && seconds < 8, "closed after \(seconds) s")
            }
            let healthy = try await tls.curl("api.example.com")
            #expect(healthy.status == 200)
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    let (_, metrics) = try await tls.gateway.scrape()
                    return metrics.sum("gateway_tls_handshakes_total", ["result": "plain_http"]) == 1
                        && metrics.sum("gateway_tls_handshakes_total", ["result": "protocol_error"]) >= 1
                        && metrics.sum("gateway_tls_handshakes_total", ["result": "timeout"]) == 1
                        && metrics.sum("gateway_timeouts_total", ["kind": "tls_handshake"]) == 1
                }
            )
        }
    }

    @Test("No certificate for the SNI and no default_ssl: the handshake fails with unrecognized_name, counted")
    func noCertificate() async throws {
        try await Self.withGateway("tls-nocert") { certificates in
            let api = try await certificates.issue(["api.example.com"])
            return """
                ssls: [{id: api, snis: [api.example.com], cert: "\(api.certificatePEM.replacingOccurrences(of: "\n", with: "\\n"))", key: "\(api.keyPEM.replacingOccurrences(of: "\n", with: "\\n"))"}]
                """
        } _: { tls in
            let refused = try await tls.presentedSubject(serverName: "other.test")
            #expect(refused.subject == nil)
            #expect(refused.output.contains("unrecognized name"), "\(refused.output)")
            #expect(try await tls.curl("api.example.com").status == 200)
            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_handshakes_total", ["result": "no_certificate"]) == 1)
        }
    }
}
