import Foundation
import TestSupport
import Testing

/// An expired certificate loads with a warning that names its key path: from `gateway check`, in the
/// running gateway's log at start and at each reload. A reload that asks for a latency bucket the
/// process does not have says so in `/status` `restart_required`.
@Suite("Integration: config warnings", .serialized)
struct CertificateWarningIntegrationTests {
    static let expiredWarning = "ssls[0].cert_file: certificate expired on 2020-02-01T00:00:00Z (not after)"

    static func yaml(certificate: TestCertificates.Issued, control: Int? = nil) -> String {
        """
        listen: "127.0.0.1:0"
        workers: 1
        \(control.map { "control: {listen: \"127.0.0.1:\($0)\"}" } ?? "")
        upstreams: [{id: backend, nodes: {"127.0.0.1:9": 1}}]
        routes:
          - id: api
            uri: /api/*
            upstream_id: backend
        ssls:
          - {id: old, snis: [old.example.com], cert_file: "\(certificate.certificate.path)", key_file: "\(certificate.key.path)"}

        """
    }

    static func expired(in directory: URL) async throws -> TestCertificates.Issued {
        let certificates = try await TestCertificates.authority(in: directory)
        return try await certificates.issue(
            ["old.example.com"],
            validity: (notBefore: "20200101000000Z", notAfter: "20200201000000Z")
        )
    }

    @Test("gateway check names an expired certificate's key path, still exits 0; tls.reject_expired refuses it")
    func checkWarns() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("check-expired")
        defer { try? FileManager.default.removeItem(at: directory) }
        let expired = try await Self.expired(in: directory)
        let config = directory.appendingPathComponent("gateway.yaml")
        try Self.yaml(certificate: expired).writeTestFile(to: config)
        let check = try await Command.run(
            IntegrationEnvironment.gatewayBinary.path,
            ["check", "--config", config.path],
            in: directory
        )
        #expect(check.exitCode == 0, "\(check.log)")
        #expect(check.stdout.hasPrefix("config OK with 1 warning: 1 routes, 1 upstreams"), "\(check.stdout)")
        #expect(check.stdout.contains("  warning: \(Self.expiredWarning) (line "), "\(check.stdout)")

        try (Self.yaml(certificate: expired) + "tls: {reject_expired: true}\n")
            .writeTestFile(to: config)
        let refused = try await Command.run(
            IntegrationEnvironment.gatewayBinary.path,
            ["check", "--config", config.path],
            in: directory
        )
        #expect(refused.exitCode == 1, "\(refused.log)")
        #expect(refused.log.contains("ssls[0].cert_file: the certificate expired at 2020-02-01T00:00:00Z"))
    }

    @Test(
        "the running gateway logs the warning at start and at each reload; a threshold without a bucket is in restart_required"
    )
    func runningGatewayLogs() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("run-expired")
        defer { try? FileManager.default.removeItem(at: directory) }
        let expired = try await Self.expired(in: directory)
        let gateway = try await GatewayProcess.start(in: directory) { control in
            Self.yaml(certificate: expired, control: control)
        }
        do {
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    gateway.log.contains("config warning (start): \(Self.expiredWarning)")
                },
                "\(gateway.logTail)"
            )
            // 0.25 is a default bound; 0.3 is not, so the rules' le="0.3" series needs a restart.
            let slo = """
                  - id: slow
                    uri: /slow/*
                    upstream_id: backend
                    slo: {latency: {threshold: 0.3, target: 99}}
                  - id: fine
                    uri: /fine/*
                    upstream_id: backend
                    slo: {latency: {threshold: 0.25, target: 99}}
                """
            // The engine the test run asked for stays, so only the objective changes.
            let next = IntegrationEnvironment.withTestEngine(
                Self.yaml(certificate: expired, control: gateway.controlPort)
            )
            .replacingOccurrences(of: "    upstream_id: backend\n", with: "    upstream_id: backend\n" + slo + "\n")
            #expect(next.contains("id: slow"))
            try next.writeTestFile(to: gateway.configFile)
            kill(gateway.pid, SIGHUP)
            var restart: [String] = []
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    let status = try await gateway.control("/status").jsonObject()
                    restart = status["restart_required"] as? [String] ?? []
                    return !restart.isEmpty
                }
            )
            #expect(restart == ["routes[\"slow\"].slo.latency.threshold"], "\(restart)")
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    gateway.log.contains("config warning (SIGHUP): \(Self.expiredWarning)")
                },
                "\(gateway.logTail)"
            )
            let gapLines = gateway.log.split(separator: "\n").filter { $0.contains("is not a bucket bound") }
            #expect(gapLines.count == 1, "\(gapLines)")
            #expect(gapLines.first?.contains("routes[\"slow\"].slo.latency.threshold: 0.3 s") == true)
            #expect(gapLines.first?.contains("gateway_http_request_duration_seconds") == true)
            // The bound really is missing from the exposition: the restart is what adds it.
            let scrape = try await gateway.scrape().text
            #expect(!scrape.contains("le=\"0.3\""))
        } catch {
            _ = await gateway.finish()
            throw error
        }
        #expect(await gateway.finish())
    }
}
