import Foundation
import TestSupport

/// A gateway with a plain and a TLS listener in front of `upstream.py`, certificates from a test CA, and
/// the clients the TLS tests use (curl, openssl s_client, Python `ssl`).
struct TLSGateway {
    let gateway: GatewayProcess
    let upstream: UpstreamProcess
    let certificates: TestCertificates
    let directory: URL

    /// The TLS listener's port, from its "listening on 127.0.0.1:PORT ... (TLS)" log line.
    var tlsPort: Int {
        for line in gateway.log.split(separator: "\n") where line.contains("(TLS)") {
            if let port = GatewayProcess.listeningPort(in: String(line)) { return port }
        }
        return -1
    }

    /// Starts the gateway with `body` (the `ssls:`, `tls:` and extra sections) after the listeners,
    /// control plane, an upstream and a catch-all route, on `workers` workers.
    static func start(
        _ label: String,
        directory: URL,
        certificates: TestCertificates,
        extra body: String,
        limits: String = "",
        routes: String = "",
        http2: Bool = false,
        workers: Int = 2
    ) async throws -> TLSGateway {
        let upstream = try await UpstreamProcess.start(in: directory)
        do {
            let gateway = try await GatewayProcess.start(in: directory) { control in
                """
                workers: \(workers)
                listen: ["127.0.0.1:0", {address: "127.0.0.1:0", tls: true, http2: \(http2)}]
                control: {listen: "127.0.0.1:\(control)"}
                config: {watch: false}
                \(limits)
                upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstream.port)": 1}}]
                routes:
                  - {id: all, uri: /*, upstream_id: backend}
                \(routes)
                \(body)
                """
            }
            return TLSGateway(gateway: gateway, upstream: upstream, certificates: certificates, directory: directory)
        } catch {
            await upstream.stop()
            throw error
        }
    }

    func stop() async {
        await gateway.stop()
        await upstream.stop()
    }

    /// curl over TLS to `name` (resolved to 127.0.0.1), trusting the test CA.
    func curl(_ name: String, _ path: String = "/headers", _ arguments: [String] = []) async throws -> CurlResult {
        try await Curl.run(
            "https://\(name):\(tlsPort)\(path)",
            ["--cacert", certificates.authority.certificate.path, "--resolve", "\(name):\(tlsPort):127.0.0.1"]
                + arguments,
            in: directory
        )
    }

    /// The subject of the certificate `openssl s_client` receives for `serverName` (nil: no SNI sent),
    /// and s_client's output.
    func presentedSubject(serverName: String?) async throws -> (subject: String?, output: String) {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(tlsPort)"]
        if let serverName { arguments += ["-servername", serverName] } else { arguments.append("-noservername") }
        let result = try await Command.run("openssl", arguments, in: directory, input: Data(), timeout: .seconds(20))
        let subject = result.stdout.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init)
        return (subject, result.stdout + result.log)
    }

    /// Runs Python 3 `script` with the TLS port and the CA path as arguments; returns its stdout.
    func python(_ script: String) async throws -> String {
        let file = directory.appendingPathComponent("client-\(UUID().uuidString.prefix(6)).py")
        try script.writeTestFile(to: file)
        let result = try await Command.run(
            "python3",
            [file.path, "\(tlsPort)", certificates.authority.certificate.path],
            in: directory,
            timeout: .seconds(60)
        )
        guard result.exitCode == 0 else { throw IntegrationError("python client failed: \(result.log)") }
        return result.stdout
    }
}
