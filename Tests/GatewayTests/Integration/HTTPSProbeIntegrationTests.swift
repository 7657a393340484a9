import Foundation
import TestSupport
import Testing

/// `checks.active.type: https` end to end: the gateway's health thread probes upstream.py nodes serving
/// TLS with certificates from a test CA, and `/status` and the node metrics show the verdicts.
@Suite("Integration: https active health checks")
struct HTTPSProbeIntegrationTests {
    /// `/status` nodes of upstream `id`, by node address.
    static func nodes(_ gateway: GatewayProcess, upstream id: String) async throws -> [String: [String: Any]] {
        let json = try await gateway.control("/status", headers: ["Accept: application/json"]).jsonObject()
        guard let upstreams = json["upstreams"] as? [[String: Any]],
            let entry = upstreams.first(where: { $0["id"] as? String == id }),
            let nodes = entry["nodes"] as? [[String: Any]]
        else {
            throw IntegrationError("/status has no upstream \(id): \(json)")
        }
        var byAddress: [String: [String: Any]] = [:]
        for node in nodes {
            if let address = node["node"] as? String { byAddress[address] = node }
        }
        return byAddress
    }

    @Test(
        "a node with a verified certificate is probed healthy; one whose certificate does not verify is marked unhealthy, unless https_verify_certificate is off; an http upstream probes a TLS port"
    )
    func httpsProbes() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("https-probes")
        let certificates = try await TestCertificates.authority(in: directory)
        let rogueAuthority = try await TestCertificates.authority(in: directory, name: "Rogue CA")
        let good = try await certificates.issue(["backend.test"])
        let bad = try await rogueAuthority.issue(["backend.test"])
        let ca = certificates.authority.certificate.path
        let trusted = try await UpstreamProcess.start(
            in: directory,
            arguments: ["--tls-cert", good.certificate.path, "--tls-key", good.key.path]
        )
        var started = [trusted]
        let gateway: GatewayProcess
        let rogue: UpstreamProcess
        let plain: UpstreamProcess
        do {
            rogue = try await UpstreamProcess.start(
                in: directory,
                arguments: ["--tls-cert", bad.certificate.path, "--tls-key", bad.key.path]
            )
            started.append(rogue)
            plain = try await UpstreamProcess.start(in: directory)
            started.append(plain)
            let probe =
                "timeout: 1, healthy: {interval: 0.2, successes: 1}, unhealthy: {interval: 0.2, tcp_failures: 2}"
            gateway = try await GatewayProcess.start(in: directory) { control in
                """
                workers: 1
                listen: ["127.0.0.1:0"]
                control: {listen: "127.0.0.1:\(control)"}
                metrics: {enabled: true, node_labels: true}
                upstreams:
                  - id: pool
                    scheme: https
                    panic_threshold: 0
                    nodes: {"127.0.0.1:\(trusted.port)": 1, "127.0.0.1:\(rogue.port)": 1}
                    tls: {sni: backend.test, ca_file: "\(ca)"}
                    checks: {active: {type: https, http_path: /status/200, \(probe)}}
                  - id: relaxed
                    scheme: https
                    nodes: {"127.0.0.1:\(rogue.port)": 1}
                    tls: {sni: backend.test, ca_file: "\(ca)"}
                    checks: {active: {type: https, https_verify_certificate: false, http_path: /status/200, \(probe)}}
                  - id: health-port
                    nodes: {"127.0.0.1:\(plain.port)": 1}
                    tls: {ca_file: "\(ca)"}
                    checks: {active: {type: https, port: \(trusted.port), host: backend.test, http_path: /status/200, \(probe)}}
                routes:
                  - {id: pool, uri: /pool/*, upstream_id: pool}
                  - {id: relaxed, uri: /relaxed/*, upstream_id: relaxed}
                  - {id: health-port, uri: /health-port/*, upstream_id: health-port}
                """
            }
        } catch {
            for upstream in started { await upstream.stop() }
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            let goodNode = "127.0.0.1:\(trusted.port)"
            let badNode = "127.0.0.1:\(rogue.port)"
            let plainNode = "127.0.0.1:\(plain.port)"
            // Every node has been probed a few times and the failing one has crossed tcp_failures.
            var pool: [String: [String: Any]] = [:]
            var relaxed: [String: [String: Any]] = [:]
            var healthPort: [String: [String: Any]] = [:]
            let settled = try await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
                pool = try await Self.nodes(gateway, upstream: "pool")
                relaxed = try await Self.nodes(gateway, upstream: "relaxed")
                healthPort = try await Self.nodes(gateway, upstream: "health-port")
                let probed = [pool[goodNode], pool[badNode], relaxed[badNode], healthPort[plainNode]].allSatisfy {
                    ($0?["active_checks"] as? Int ?? 0) >= 3
                }
                return probed && pool[badNode]?["healthy"] as? Bool == false
            }
            #expect(settled, "pool: \(pool), relaxed: \(relaxed), health-port: \(healthPort)")

            #expect(pool[goodNode]?["healthy"] as? Bool == true, "\(String(describing: pool[goodNode]))")
            #expect(pool[goodNode]?["active_check_failures"] as? Int == 0, "\(String(describing: pool[goodNode]))")
            #expect(pool[badNode]?["healthy"] as? Bool == false, "\(String(describing: pool[badNode]))")
            #expect(pool[badNode]?["available"] as? Bool == false)
            #expect(
                pool[badNode]?["active_checks"] as? Int == pool[badNode]?["active_check_failures"] as? Int,
                "every probe of the untrusted node fails: \(String(describing: pool[badNode]))"
            )
            #expect(relaxed[badNode]?["healthy"] as? Bool == true, "\(String(describing: relaxed[badNode]))")
            #expect(relaxed[badNode]?["active_check_failures"] as? Int == 0)
            #expect(healthPort[plainNode]?["healthy"] as? Bool == true, "\(String(describing: healthPort[plainNode]))")
            #expect(healthPort[plainNode]?["active_check_failures"] as? Int == 0)

            let metrics = try await gateway.scrape().exposition
            #expect(metrics.value("gateway_upstream_node_healthy", ["upstream": "pool", "node": goodNode]) == 1)
            #expect(metrics.value("gateway_upstream_node_healthy", ["upstream": "pool", "node": badNode]) == 0)
            #expect(metrics.value("gateway_upstream_node_healthy", ["upstream": "relaxed", "node": badNode]) == 1)
            let failures = metrics.sum(
                "gateway_upstream_health_check_failures_total",
                ["upstream": "pool", "node": badNode]
            )
            #expect(failures >= 2)

            // Traffic follows the verdict: the untrusted node is out, so every request reaches the good one.
            for index in 0..<4 {
                let result = try await Curl.run("\(gateway.url)/pool/whoami?n=\(index)", in: directory)
                #expect(result.status == 200, "\(result.bodyString)")
                #expect(try result.jsonObject()["port"] as? Int == trusted.port)
            }
        } tearDown: {
            let clean = await gateway.finish()
            for upstream in started { await upstream.stop() }
            return clean
        }
    }
}
