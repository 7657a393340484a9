import Foundation

/// `Tests/Support/otlp_receiver.py` running as a child process: an OTLP/HTTP receiver that decodes with
/// the `opentelemetry-proto` package from PyPI and records each request as a JSON line.
package final class OTLPReceiver: Sendable {
    /// One request as the receiver decoded it.
    package struct Request: @unchecked Sendable {
        package let json: [String: Any]
        package var path: String { json["path"] as? String ?? "" }
        package var contentType: String { json["content_type"] as? String ?? "" }
        package var status: Int { json["status"] as? Int ?? 0 }
        package var resource: [String: Any] { json["resource"] as? [String: Any] ?? [:] }
        package var scopes: [[String: Any]] { json["scopes"] as? [[String: Any]] ?? [] }
        package var spans: [Span] { (json["spans"] as? [[String: Any]] ?? []).map(Span.init) }
    }

    /// One span as the receiver decoded it (ids in lowercase hex).
    package struct Span: @unchecked Sendable {
        package let json: [String: Any]
        package var traceID: String { json["trace_id"] as? String ?? "" }
        package var spanID: String { json["span_id"] as? String ?? "" }
        package var parentSpanID: String { json["parent_span_id"] as? String ?? "" }
        package var name: String { json["name"] as? String ?? "" }
        package var kind: Int { json["kind"] as? Int ?? -1 }
        package var flags: Int { json["flags"] as? Int ?? -1 }
        package var start: Int64 { (json["start"] as? NSNumber)?.int64Value ?? -1 }
        package var end: Int64 { (json["end"] as? NSNumber)?.int64Value ?? -1 }
        package var statusCode: Int { json["status_code"] as? Int ?? -1 }
        package var attributes: [String: Any] { json["attributes"] as? [String: Any] ?? [:] }
    }

    package let process: ManagedProcess
    package let port: Int
    package let outFile: URL
    package let logFile: URL

    private init(process: ManagedProcess, port: Int, outFile: URL, logFile: URL) {
        self.process = process
        self.port = port
        self.outFile = outFile
        self.logFile = logFile
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Support/otlp_receiver.py")

    /// Starts a receiver on `port` (0: the kernel's choice) writing to `outFile` (a fresh one in `directory`
    /// when nil), with extra `arguments` (`--status N`, `--fail-first K`, `--reject N`).
    package static func start(
        in directory: URL,
        port fixedPort: Int = 0,
        outFile: URL? = nil,
        arguments: [String] = []
    ) async throws -> OTLPReceiver {
        let tag = UUID().uuidString.prefix(8)
        let portFile = directory.appendingPathComponent("otlp-\(tag).port")
        let logFile = directory.appendingPathComponent("otlp-\(tag).log")
        let outFile = outFile ?? directory.appendingPathComponent("otlp-\(tag).jsonl")
        let (process, port) = try await ManagedProcess.launch(
            "otlp_receiver.py",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [
                "python3", script.path, "--port", String(fixedPort), "--port-file", portFile.path, "--out",
                outFile.path,
            ] + arguments,
            logFile: logFile
        ) { () -> Int? in
            // Written (atomically) once the socket listens.
            guard let text = try? String(contentsOf: portFile, encoding: .utf8) else { return nil }
            return Int(text)
        }
        return OTLPReceiver(process: process, port: port, outFile: outFile, logFile: logFile)
    }

    package var endpoint: String { "http://127.0.0.1:\(port)/v1/traces" }

    /// Every request received so far, in order.
    package func requests() -> [Request] {
        guard let text = try? String(contentsOf: outFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Request(json: object)
        }
    }

    /// Every span of every request that was answered 200, in order.
    package func acceptedSpans() -> [Span] {
        requests().filter { $0.status == 200 }.flatMap(\.spans)
    }

    package func stop() async {
        await process.terminate(grace: .seconds(2))
    }
}
