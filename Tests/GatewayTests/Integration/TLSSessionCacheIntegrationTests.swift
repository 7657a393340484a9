import Foundation
import TestSupport
import Testing

/// The server-side session cache that TLS 1.2 clients without tickets resume from
/// (`tls.session_tickets: false`), with one worker and with two sharing it.
@Suite("Integration: TLS session cache")
struct TLSSessionCacheIntegrationTests {
    static func withGateway(workers: Int, _ body: (TLSGateway) async throws -> Void) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("tls-session-cache-\(workers)")
        let certificates = try await TestCertificates.authority(in: directory)
        let api = try await certificates.issue(["api.example.com"])
        let tls = try await TLSGateway.start(
            "tls-session-cache",
            directory: directory,
            certificates: certificates,
            extra: """
                tls: {session_tickets: false, default_ssl: api}
                ssls:
                  - {id: api, snis: [api.example.com], cert_file: "\(api.certificate.path)", key_file: "\(api.key.path)"}
                """,
            workers: workers
        )
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(tls)
        } tearDown: {
            let clean = await tls.gateway.finish()
            await tls.upstream.stop()
            return clean
        }
    }

    /// A new file for s_client's session.
    static func sessionFile(_ tls: TLSGateway) -> URL {
        tls.directory.appendingPathComponent("session-\(UUID().uuidString.prefix(6)).pem")
    }

    /// Runs `openssl s_client -tls1_2` `count` times in sequence, each resuming the session saved in
    /// `sessionFile` (from the previous run, or from before when the file exists) and sending one request;
    /// returns each connection's "New"/"Reused" line and whether its request got 200.
    static func sClientRuns(
        _ tls: TLSGateway,
        count: Int,
        sessionFile: URL? = nil
    ) async throws -> [(session: String, ok: Bool)] {
        let sessionFile = sessionFile ?? Self.sessionFile(tls)
        let request = "GET /headers HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n"
        var runs: [(String, Bool)] = []
        for _ in 0..<count {
            var arguments = [
                "s_client", "-tls1_2", "-connect", "127.0.0.1:\(tls.tlsPort)", "-servername", "api.example.com",
                "-CAfile", tls.certificates.authority.certificate.path, "-ign_eof", "-sess_out", sessionFile.path,
            ]
            if FileManager.default.fileExists(atPath: sessionFile.path) { arguments += ["-sess_in", sessionFile.path] }
            let result = try await Command.run(
                "openssl",
                arguments,
                in: tls.directory,
                input: Data(request.utf8),
                timeout: .seconds(20)
            )
            let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("New,") || $0.hasPrefix("Reused,") }
            runs.append((line.map(String.init) ?? result.stdout + result.log, result.stdout.contains("HTTP/1.1 200")))
        }
        return runs
    }

    /// Python clients that each resume the previous session, ask for a large body and leave at once
    /// (RST), before the gateway has sent its response; prints whether each connection resumed.
    static let leavingClients = """
        import socket, ssl, struct, sys, time
        port, ca = int(sys.argv[1]), sys.argv[2]
        context = ssl.create_default_context(cafile=ca)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
        session = None
        for attempt in range(6):
            raw = socket.create_connection(("127.0.0.1", port))
            conn = context.wrap_socket(raw, server_hostname="api.example.com", session=session)
            conn.sendall(b"GET /big?size=4000000 HTTP/1.1\\r\\nHost: api.example.com\\r\\n\\r\\n")
            print(attempt, conn.session_reused, flush=True)
            session = conn.session
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            # The gateway notices the reset before the next connection asks for the session.
            time.sleep(0.3)
        """

    @Test(
        "session_tickets: false, TLS 1.2: six sequential s_client connections each sending a request, every reconnect resumes",
        arguments: [1, 2]
    )
    func sClientResumes(workers: Int) async throws {
        try await Self.withGateway(workers: workers) { tls in
            let sessionFile = Self.sessionFile(tls)
            let runs = try await Self.sClientRuns(tls, count: 6, sessionFile: sessionFile)
            #expect(runs.allSatisfy { $0.ok }, "\(runs)")
            #expect(runs.first?.session.hasPrefix("New, TLSv1.2") == true, "\(runs)")
            #expect(runs.dropFirst().allSatisfy { $0.session.hasPrefix("Reused, TLSv1.2") }, "\(runs)")
            let (_, metrics) = try await tls.gateway.scrape()
            #expect(metrics.sum("gateway_tls_resumptions_total") >= 5)

            // A reload builds new TLS contexts; the cache is the process's, so sessions survive it.
            let reloads = tls.gateway.log.components(separatedBy: "config reloaded").count
            tls.gateway.process.signal(SIGHUP)
            let reloaded = try await eventually(timeout: .seconds(30)) {
                tls.gateway.log.components(separatedBy: "config reloaded").count > reloads
            }
            #expect(reloaded, "\(tls.gateway.logTail)")
            let afterReload = try await Self.sClientRuns(tls, count: 2, sessionFile: sessionFile)
            #expect(afterReload.allSatisfy { $0.ok }, "\(afterReload)")
            #expect(afterReload.allSatisfy { $0.session.hasPrefix("Reused, TLSv1.2") }, "\(afterReload)")
        }
    }

    @Test(
        "A client that resets its connection before the response leaves its session in the cache: every reconnect resumes",
        arguments: [1, 2]
    )
    func abortedConnectionsKeepSessions(workers: Int) async throws {
        try await Self.withGateway(workers: workers) { tls in
            let output = try await tls.python(Self.leavingClients)
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines == ["0 False"] + (1..<6).map { "\($0) True" }, "\(output)")
            // The gateway is still serving, and the cache still resumes for a well-behaved client.
            let runs = try await Self.sClientRuns(tls, count: 2)
            #expect(runs.allSatisfy { $0.ok } && runs.last?.session.hasPrefix("Reused") == true, "\(runs)")
        }
    }
}
