import Foundation
import Glibc
import TestSupport
import Testing

@testable import Gateway

/// `checks.active.type: https` probes through each engine's executor against upstream.py serving TLS
/// with certificates from a test CA, and the choice of the probes' TLS context.
@Suite("HTTPS active probes")
struct HTTPSActiveProbeTests {
    /// upstream.py nodes: one certified by the test CA for `backend.test`, one certified for the same
    /// name by another CA, and one speaking plain HTTP.
    struct Nodes {
        var trusted: UpstreamProcess
        var rogue: UpstreamProcess
        var plain: UpstreamProcess
        var authorityPEM: String

        static func start(in directory: URL) async throws -> Nodes {
            let certificates = try await TestCertificates.authority(in: directory)
            let rogueAuthority = try await TestCertificates.authority(in: directory, name: "Rogue CA")
            let good = try await certificates.issue(["backend.test"])
            let bad = try await rogueAuthority.issue(["backend.test"])
            let trusted = try await UpstreamProcess.start(
                in: directory,
                arguments: ["--tls-cert", good.certificate.path, "--tls-key", good.key.path]
            )
            let rogue = try await UpstreamProcess.start(
                in: directory,
                arguments: ["--tls-cert", bad.certificate.path, "--tls-key", bad.key.path]
            )
            let plain = try await UpstreamProcess.start(in: directory)
            return Nodes(
                trusted: trusted,
                rogue: rogue,
                plain: plain,
                authorityPEM: certificates.authority.certificatePEM
            )
        }

        func address(_ node: UpstreamProcess) -> SocketAddress {
            SocketAddress(host: "127.0.0.1", port: UInt16(node.port))!
        }

        /// A client context trusting the test CA (or verifying nothing).
        func context(verify: Bool = true, serverName: String? = "backend.test") throws -> TLSClientContext {
            var tls = UpstreamConfig.TLS()
            tls.verify = verify
            tls.caPEM = authorityPEM
            return try TLSClientContext(tls, settings: TLSSettings(), serverName: serverName)
        }

        func stop() async {
            await trusted.stop()
            await rogue.stop()
            await plain.stop()
        }
    }

    static func check(_ path: String = "/status/200", timeout: Duration = .seconds(3)) -> ActiveHealthCheck {
        ActiveProberTests.check(.https, path: path, timeout: timeout)
    }

    @Test(arguments: EngineKind.allCases)
    func outcomes(engine: EngineKind) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("https-prober-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nodes = try await Nodes.start(in: directory)
        // A listener nobody accepts from: the ClientHello is sent and never answered.
        let silent = try Sockets.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!)
        defer { Glibc.close(silent) }
        let silentAddress = try #require(SocketAddress.local(of: silent))
        var verified = try nodes.context()
        var relaxed = try nodes.context(verify: false)
        var wrongName = try nodes.context(serverName: "other.test")
        // No server name: the node's IP address is verified, and the certificate names only backend.test.
        var byAddress = try nodes.context(serverName: nil)
        let trusted = nodes.address(nodes.trusted)
        let rogue = nodes.address(nodes.rogue)
        let plain = nodes.address(nodes.plain)

        var prober = ActiveProber(engine: engine)
        let now = ContinuousClock.now
        func start(_ node: Int, _ address: SocketAddress, _ check: ActiveHealthCheck, _ tls: TLSClientContext?) {
            prober.start(node: node, address: address, check: check, hostHeader: "h", tls: tls, now: now)
        }
        start(0, trusted, Self.check(), verified)
        start(1, trusted, Self.check("/status/503"), verified)
        start(2, trusted, Self.check("/status/418"), verified)
        start(3, rogue, Self.check(), verified)
        start(4, rogue, Self.check(), relaxed)
        start(5, trusted, Self.check(), wrongName)
        start(6, plain, Self.check(), verified)
        start(7, silentAddress, Self.check(timeout: .milliseconds(300)), verified)
        start(8, trusted, Self.check(), nil)
        start(9, trusted, Self.check(), byAddress)
        // A response far larger than the probe keeps: the status line decides.
        start(10, trusted, Self.check("/big?size=2000000"), verified)
        let results = ActiveProberTests.results(&prober, count: 11)
        #expect(results[0] == .success)
        #expect(results[1] == .httpFailure(status: 503))
        #expect(results[2] == .ignored(status: 418))
        #expect(results[3] == .tcpFailure, "a certificate from an untrusted CA must fail the handshake")
        #expect(results[4] == .success, "verification off accepts any certificate")
        #expect(results[5] == .tcpFailure, "a certificate for another name must fail the handshake")
        #expect(results[6] == .tcpFailure, "a plain HTTP node cannot complete a handshake")
        #expect(results[7] == .timeout)
        #expect(results[8] == .tcpFailure, "an https probe without a context fails")
        #expect(results[9] == .tcpFailure)
        #expect(results[10] == .success)
        let inFlight = prober.inFlight
        #expect(inFlight == 0)
        // Every session released its context: the probes kept none after finishing.
        #expect(isKnownUniquelyReferenced(&verified))
        #expect(isKnownUniquelyReferenced(&relaxed))
        #expect(isKnownUniquelyReferenced(&wrongName))
        #expect(isKnownUniquelyReferenced(&byAddress))
        await nodes.stop()
    }

    /// A prober dropped with handshakes in flight (the controller stopping) frees their sessions.
    @Test(arguments: EngineKind.allCases)
    func sessionsInFlightAreFreedWithTheProber(engine: EngineKind) throws {
        let silent = try Sockets.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!)
        defer { Glibc.close(silent) }
        let address = try #require(SocketAddress.local(of: silent))
        var tls = UpstreamConfig.TLS()
        tls.verify = false
        var context = try TLSClientContext(tls, settings: TLSSettings(), serverName: nil)
        do {
            var prober = ActiveProber(engine: engine)
            for node in 0..<4 {
                prober.start(
                    node: node,
                    address: address,
                    check: Self.check(timeout: .seconds(30)),
                    hostHeader: "h",
                    tls: context,
                    now: ContinuousClock.now
                )
            }
            // Connects complete at once on loopback; the ClientHellos then wait for an answer.
            let until = ContinuousClock.now + .milliseconds(300)
            while ContinuousClock.now < until {
                #expect(prober.poll(until: ContinuousClock.now + .milliseconds(50)).isEmpty)
            }
            let probing = prober.inFlight
            #expect(probing == 4)
        }
        #expect(isKnownUniquelyReferenced(&context), "a TLS session outlived its prober")
    }

    /// More https probes than the prober's 16 receive buffers, one after another: every buffer and every
    /// session goes back.
    @Test(arguments: EngineKind.allCases)
    func buffersAndSessionsAreReturnedAcrossManyProbes(engine: EngineKind) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("https-prober-many-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nodes = try await Nodes.start(in: directory)
        var context = try nodes.context()
        var prober = ActiveProber(engine: engine)
        for round in 0..<40 {
            prober.start(
                node: round,
                address: nodes.address(nodes.trusted),
                check: Self.check(),
                hostHeader: "h",
                tls: context,
                now: ContinuousClock.now
            )
            let results = ActiveProberTests.results(&prober, count: 1)
            #expect(results[round] == .success, "probe \(round): \(String(describing: results[round]))")
            if results[round] != .success { break }
        }
        #expect(isKnownUniquelyReferenced(&context))
        await nodes.stop()
    }

    // MARK: - Context choice

    static func upstream(_ keys: String) throws -> UpstreamConfig {
        let yaml = """
            upstreams:
              - id: web
                nodes: {"127.0.0.1:9001": 1}
            \(keys.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "test", resolveHostnames: false)
        return try #require(config.upstreams.first)
    }

    @Test func configReadsTypeAndVerification() throws {
        let upstream = try Self.upstream("checks: {active: {type: https, https_verify_certificate: false}}")
        let active = try #require(upstream.checks?.active)
        #expect(active.type == .https && !active.verifyCertificate)
        let defaults = try Self.upstream("checks: {active: {type: https}}")
        #expect(defaults.checks?.active?.verifyCertificate == true)
        do {
            _ = try Self.upstream("checks: {active: {type: https, https_verify_certificate: maybe}}")
            Issue.record("a non-boolean https_verify_certificate was accepted")
        } catch let error as ConfigError {
            #expect(error.issues.contains { $0.path.hasSuffix("checks.active.https_verify_certificate") })
        }
    }

    @Test func httpsUpstreamProbesWithItsOwnContext() throws {
        let upstream = try Self.upstream(
            """
            scheme: https
            tls: {sni: backend.test}
            checks: {active: {type: https}}
            """
        )
        let own = try TLSClientContext(upstream.tls, settings: TLSSettings(), serverName: "backend.test")
        let chosen = try ActiveProbeTLS.context(for: upstream, upstreamContext: own, settings: TLSSettings())
        #expect(chosen === own)
    }

    @Test func verificationOffMakesARelaxedCopyKeepingTheName() throws {
        let upstream = try Self.upstream(
            """
            scheme: https
            tls: {sni: backend.test}
            checks: {active: {type: https, https_verify_certificate: false}}
            """
        )
        let own = try TLSClientContext(upstream.tls, settings: TLSSettings(), serverName: "backend.test")
        let chosen = try #require(
            try ActiveProbeTLS.context(for: upstream, upstreamContext: own, settings: TLSSettings())
        )
        #expect(chosen !== own && !chosen.verify && chosen.serverName == "backend.test")
    }

    @Test func probesNeverVerifyWhatTheTrafficDoesNot() throws {
        let upstream = try Self.upstream(
            """
            scheme: https
            tls: {verify: false}
            checks: {active: {type: https}}
            """
        )
        let own = try TLSClientContext(upstream.tls, settings: TLSSettings(), serverName: nil)
        let chosen = try ActiveProbeTLS.context(for: upstream, upstreamContext: own, settings: TLSSettings())
        #expect(chosen === own && chosen?.verify == false)
    }

    @Test func httpUpstreamGetsAContextNamedByTheProbeHost() throws {
        let named = try Self.upstream("checks: {active: {type: https, host: \"health.example.com:8443\"}}")
        let context = try #require(
            try ActiveProbeTLS.context(for: named, upstreamContext: nil, settings: TLSSettings())
        )
        #expect(context.verify && context.serverName == "health.example.com")
        let literal = try Self.upstream(
            "checks: {active: {type: https, host: \"10.0.0.1\", https_verify_certificate: false}}"
        )
        let unnamed = try #require(
            try ActiveProbeTLS.context(for: literal, upstreamContext: nil, settings: TLSSettings())
        )
        #expect(!unnamed.verify && unnamed.serverName == nil)
        let plain = try Self.upstream("checks: {active: {type: http}}")
        #expect(try ActiveProbeTLS.context(for: plain, upstreamContext: nil, settings: TLSSettings()) == nil)
    }
}
