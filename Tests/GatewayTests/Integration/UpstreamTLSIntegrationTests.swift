import Foundation
import TestSupport
import Testing

/// `scheme: https` upstreams against a Python TLS server with a test CA: verification, SNI, mTLS to the
/// node, pooled TLS connections reused, and a node whose certificate does not match refused.
@Suite("Integration: TLS to upstreams")
struct UpstreamTLSIntegrationTests {
    @Test(
        "https upstream: verified with the test CA and SNI, the gateway's client certificate presented, one pooled TLS connection reused; a name mismatch gets 502 unless verify is off"
    )
    func httpsUpstream() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("upstream-tls")
        let certificates = try await TestCertificates.authority(in: directory)
        let server = try await certificates.issue(["backend.test"])
        let client = try await certificates.issue(["gateway-client"], client: true)
        let ca = certificates.authority.certificate.path
        let upstream = try await UpstreamProcess.start(
            in: directory,
            arguments: [
                "--tls-cert", server.certificate.path, "--tls-key", server.key.path, "--tls-client-ca", ca,
            ]
        )
        let gateway: GatewayProcess
        do {
            gateway = try await GatewayProcess.start(in: directory) { control in
                """
                workers: 1
                listen: ["127.0.0.1:0"]
                control: {listen: "127.0.0.1:\(control)"}
                upstreams:
                  - id: secure
                    scheme: https
                    nodes: {"127.0.0.1:\(upstream.port)": 1}
                    tls:
                      sni: backend.test
                      ca_file: "\(ca)"
                      client_cert_file: "\(client.certificate.path)"
                      client_key_file: "\(client.key.path)"
                  - id: mismatch
                    scheme: https
                    retries: 0
                    nodes: {"127.0.0.1:\(upstream.port)": 1}
                    tls: {sni: other.test, ca_file: "\(ca)", client_cert_file: "\(client.certificate.path)", client_key_file: "\(client.key.path)"}
                  - id: unverified
                    scheme: https
                    nodes: {"127.0.0.1:\(upstream.port)": 1}
                    tls: {sni: other.test, verify: false, client_cert_file: "\(client.certificate.path)", client_key_file: "\(client.key.path)"}
                routes:
                  - {id: secure, uri: /secure/*, upstream_id: secure}
                  - {id: mismatch, uri: /mismatch/*, upstream_id: mismatch}
                  - {id: unverified, uri: /unverified/*, upstream_id: unverified}
                """
            }
        } catch {
            await upstream.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            var connections: Set<Int> = []
            for index in 0..<5 {
                let result = try await Curl.run("\(gateway.url)/secure/headers?n=\(index)", in: directory)
                #expect(result.status == 200, "\(result.bodyString)")
                let object = try result.jsonObject()
                #expect(object["tls"] as? String == "TLSv1.3")
                #expect((object["client_subject"] as? String)?.contains("commonName=gateway-client") == true)
                if let id = object["conn_id"] as? Int { connections.insert(id) }
            }
            #expect(connections.count == 1, "pooled TLS connection reused: \(connections)")
            let big = try await Curl.run("\(gateway.url)/secure/big?size=5000000", in: directory)
            #expect(big.status == 200 && big.body.count == 5_000_000)
            let upload = try await Curl.run(
                "\(gateway.url)/secure/upload",
                ["--data-binary", "@\(gateway.configFile.path)"],
                in: directory
            )
            #expect(upload.status == 200, "\(upload.bodyString)")

            let refused = try await Curl.run("\(gateway.url)/mismatch/headers", in: directory)
            #expect(refused.status == 502, "\(refused.bodyString)")
            #expect(refused.bodyString.contains("TLS handshake with the upstream failed"))
            let unverified = try await Curl.run("\(gateway.url)/unverified/headers", in: directory)
            #expect(unverified.status == 200)
            let (_, metrics) = try await gateway.scrape()
            let expiry = metrics.value(
                "gateway_tls_certificate_expiry_timestamp_seconds",
                ["ssl_id": "upstream/secure", "sni": ""]
            )
            #expect(
                expiry.map { $0 > Date().timeIntervalSince1970 + 19 * 86400 } == true,
                "\(String(describing: expiry))"
            )
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }
}
