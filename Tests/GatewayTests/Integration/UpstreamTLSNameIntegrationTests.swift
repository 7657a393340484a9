import Foundation
import TestSupport
import Testing

/// `scheme: https` upstreams whose nodes are given by host name and that set no `tls.sni`: the node's
/// host name is sent as SNI and checked against the certificate, as an IP node's address is.
@Suite("Integration: TLS to upstreams named by host name")
struct UpstreamTLSNameIntegrationTests {
    /// `openssl s_server -www` serving `fallback` to every client and `named` only to one whose SNI is
    /// `serverName`; returns the process and its port (read back from its "ACCEPT" line).
    static func namedServer(
        in directory: URL,
        fallback: TestCertificates.Issued,
        named: TestCertificates.Issued,
        serverName: String
    ) async throws -> (ManagedProcess, Int) {
        let logFile = directory.appendingPathComponent("s_server-\(UUID().uuidString.prefix(6)).log")
        return try await ManagedProcess.launch(
            "openssl s_server",
            executable: URL(fileURLWithPath: "/usr/bin/openssl"),
            arguments: [
                "s_server", "-4", "-accept", "0", "-www", "-cert", fallback.certificate.path, "-key",
                fallback.key.path, "-servername", serverName, "-cert2", named.certificate.path, "-key2",
                named.key.path,
            ],
            logFile: logFile
        ) { () -> Int? in
            // "ACCEPT 0.0.0.0:PORT" once it listens.
            guard let log = try? String(contentsOf: logFile, encoding: .utf8),
                let line = log.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) }),
                IntegrationEnvironment.portAccepts(port)
            else { return nil }
            return port
        }
    }

    static let probe =
        "timeout: 1, healthy: {interval: 0.2, successes: 1}, unhealthy: {interval: 0.2, tcp_failures: 2}"

    @Test(
        "A node given as localhost:PORT with no tls.sni: a certificate for another name gets 502, one for localhost gets 200, and the name goes out as SNI; https probes agree"
    )
    func namedNodes() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("upstream-tls-name")
        let certificates = try await TestCertificates.authority(in: directory)
        let other = try await certificates.issue(["backend.test"])
        let local = try await certificates.issue(["localhost"])
        let ca = certificates.authority.certificate.path
        let wrong = try await UpstreamProcess.start(
            in: directory,
            arguments: ["--tls-cert", other.certificate.path, "--tls-key", other.key.path]
        )
        let right: UpstreamProcess
        let sniServer: ManagedProcess
        let sniPort: Int
        do {
            right = try await UpstreamProcess.start(
                in: directory,
                arguments: ["--tls-cert", local.certificate.path, "--tls-key", local.key.path]
            )
            (sniServer, sniPort) = try await Self.namedServer(
                in: directory,
                fallback: other,
                named: local,
                serverName: "localhost"
            )
        } catch {
            await wrong.stop()
            throw error
        }
        let gateway: GatewayProcess
        do {
            gateway = try await GatewayProcess.start(in: directory) { control in
                """
                workers: 1
                listen: ["127.0.0.1:0"]
                control: {listen: "127.0.0.1:\(control)"}
                upstreams:
                  - {id: mismatch, scheme: https, retries: 0, nodes: {"localhost:\(wrong.port)": 1}, tls: {ca_file: "\(ca)"}}
                  - {id: match, scheme: https, nodes: {"localhost:\(right.port)": 1}, tls: {ca_file: "\(ca)"}}
                  - {id: by-ip, scheme: https, retries: 0, nodes: {"127.0.0.1:\(right.port)": 1}, tls: {ca_file: "\(ca)"}}
                  - {id: unverified, scheme: https, nodes: {"localhost:\(wrong.port)": 1}, tls: {verify: false}}
                  - {id: sni, scheme: https, retries: 0, nodes: {"localhost:\(sniPort)": 1}, tls: {ca_file: "\(ca)"}}
                  - id: probed
                    scheme: https
                    nodes: {"localhost:\(right.port)": 1, "localhost:\(wrong.port)": 1}
                    tls: {ca_file: "\(ca)"}
                    checks: {active: {type: https, http_path: /status/200, \(Self.probe)}}
                routes:
                  - {id: mismatch, uri: /mismatch/*, upstream_id: mismatch}
                  - {id: match, uri: /match/*, upstream_id: match}
                  - {id: by-ip, uri: /by-ip/*, upstream_id: by-ip}
                  - {id: unverified, uri: /unverified/*, upstream_id: unverified}
                  - {id: sni, uri: /sni/*, upstream_id: sni}
                """
            }
        } catch {
            await wrong.stop()
            await right.stop()
            await sniServer.terminate(grace: .seconds(2))
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            let refused = try await Curl.run("\(gateway.url)/mismatch/headers", in: directory)
            #expect(refused.status == 502, "\(refused.bodyString)")
            #expect(refused.bodyString.contains("TLS handshake with the upstream failed"), "\(refused.bodyString)")

            let matched = try await Curl.run("\(gateway.url)/match/headers", in: directory)
            #expect(matched.status == 200, "\(matched.bodyString)")

            // An IP node is still checked against the certificate's IP addresses (this one has none).
            let byIP = try await Curl.run("\(gateway.url)/by-ip/headers", in: directory)
            #expect(byIP.status == 502, "\(byIP.bodyString)")

            let unverified = try await Curl.run("\(gateway.url)/unverified/headers", in: directory)
            #expect(unverified.status == 200, "\(unverified.bodyString)")

            // s_server presents the localhost certificate only to a client whose SNI is "localhost";
            // without SNI it presents backend.test's, which the gateway would refuse.
            let sni = try await Curl.run("\(gateway.url)/sni/", in: directory)
            #expect(sni.status == 200, "\(sni.bodyString)")

            // https probes check the node's name as its traffic does.
            let good = "localhost:\(right.port)"
            let bad = "localhost:\(wrong.port)"
            var nodes: [String: [String: Any]] = [:]
            let settled = try await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
                nodes = try await HTTPSProbeIntegrationTests.nodes(gateway, upstream: "probed")
                let probed = [nodes[good], nodes[bad]].allSatisfy { ($0?["active_checks"] as? Int ?? 0) >= 3 }
                return probed && nodes[bad]?["healthy"] as? Bool == false
            }
            #expect(settled, "\(nodes)")
            #expect(nodes[good]?["healthy"] as? Bool == true, "\(String(describing: nodes[good]))")
            #expect(nodes[good]?["active_check_failures"] as? Int == 0, "\(String(describing: nodes[good]))")
        } tearDown: {
            let clean = await gateway.finish()
            await wrong.stop()
            await right.stop()
            await sniServer.terminate(grace: .seconds(2))
            return clean
        }
    }
}
