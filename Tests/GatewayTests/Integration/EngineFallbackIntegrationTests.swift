import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The gateway under a seccomp filter that blocks io_uring, as Docker's and containerd's default
/// profiles do: `engine: auto` serves on epoll and says why; `engine: io_uring` refuses to start.
@Suite("Integration: engine fallback under a seccomp profile")
struct EngineFallbackIntegrationTests {
    static func yaml(engine: String, controlPort: Int) -> String {
        """
        engine: \(engine)
        workers: 1
        listen: "127.0.0.1:0"
        control: {listen: "127.0.0.1:\(controlPort)"}
        routes:
          - id: demo
            uri: /__demo
            plugins: {mocking: {response_status: 200, response_example: 'ok', content_type: text/plain}}

        """
    }

    @Test("engine: auto falls back to epoll with one warning naming seccomp; /status and build info say epoll")
    func autoFallsBackToEpoll() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("engine-auto")
        defer { try? FileManager.default.removeItem(at: directory) }
        let controlPort = try Loopback.unusedPort()
        let gateway = try await GatewayProcess.start(
            yaml: Self.yaml(engine: "auto", controlPort: controlPort),
            in: directory,
            launcher: IntegrationEnvironment.noIOUringLauncher
        )
        do {
            try await Self.checkFallback(gateway, controlPort: controlPort, directory: directory)
        } catch {
            await gateway.stop()
            throw error
        }
        #expect(await gateway.stop() == 0)
    }

    static func checkFallback(_ gateway: GatewayProcess, controlPort: Int, directory: URL) async throws {
        let warnings = gateway.log.split(separator: "\n").filter { $0.contains("io_uring is unavailable") }
        #expect(warnings.count == 1, "\(gateway.log)")
        #expect(warnings.first?.contains("a seccomp profile blocks io_uring_setup (EPERM)") == true)
        #expect(warnings.first?.contains("using the epoll engine") == true)

        let demo = try await Curl.run(gateway.url + "/__demo", in: directory)
        #expect(demo.status == 200)
        let status = try await ControlPlaneIntegrationTests.rawGet(controlPort, "/status")
        let body = try status.jsonObject()
        #expect(body["engine"] as? String == "epoll")
        #expect(body["engine_configured"] as? String == "auto")
        #expect((body["engine_fallback_reason"] as? String)?.contains("seccomp") == true)
        let metrics = try await ControlPlaneIntegrationTests.rawGet(controlPort, "/metrics")
        #expect(metrics.bodyString.contains("engine=\"epoll\""), "\(metrics.bodyString.prefix(2000))")
    }

    @Test("engine: io_uring under the same profile exits 1 and says how to fix it")
    func explicitIOUringRefusesToStart() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("engine-iouring")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("gateway.yaml")
        let log = directory.appendingPathComponent("gateway.log")
        try Self.yaml(engine: "io_uring", controlPort: try Loopback.unusedPort())
            .writeTestFile(to: config)
        let process = try ManagedProcess(
            "gateway",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: IntegrationEnvironment.noIOUringLauncher + [
                IntegrationEnvironment.gatewayBinary.path, "run", "--config", config.path,
            ],
            logFile: log
        )
        let status = await process.waitForExit(timeout: .seconds(30))
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 1, "\(text)")
        #expect(text.contains("io_uring is not permitted (EPERM)"), "\(text)")
        #expect(text.contains("engine: auto"), "\(text)")
    }
}
