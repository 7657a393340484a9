import Foundation
import TestSupport

/// What curl reported for one transfer.
struct CurlResult {
    var exitCode: Int32
    /// Final status code (`%{http_code}`).
    var status: Int
    /// Every response head curl saw (1xx ones first), each as its status line and fields.
    var heads: [(statusLine: String, headers: [(name: String, value: String)])]
    var body: [UInt8]
    var seconds: Double
    var connects: Int
    var stderr: String

    var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The last value of header `name` in the final response head.
    func header(_ name: String) -> String? {
        heads.last?.headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw IntegrationError("body is not a JSON object: \(bodyString)")
        }
        return object
    }
}

enum Curl {
    /// Runs `curl --http1.1 -sS ... URL`, keeping the body (unless `discardBody`) and the response heads.
    static func run(
        _ url: String,
        _ arguments: [String] = [],
        in directory: URL,
        stdinFile: URL? = nil,
        discardBody: Bool = false,
        timeout: Duration = .seconds(60)
    ) async throws -> CurlResult {
        let tag = UUID().uuidString.prefix(8)
        let bodyFile = directory.appendingPathComponent("curl-\(tag).body")
        let headFile = directory.appendingPathComponent("curl-\(tag).heads")
        let output = discardBody ? "/dev/null" : bodyFile.path
        let result = try await Command.run(
            "curl",
            ["--http1.1", "-sS", "-o", output, "-D", headFile.path, "-w", "%{http_code} %{time_total} %{num_connects}"]
                + arguments + [url],
            in: directory,
            stdinFile: stdinFile,
            timeout: timeout
        )
        let fields = result.stdout.split(separator: " ")
        let headText = (try? String(contentsOf: headFile, encoding: .utf8)) ?? ""
        defer {
            try? FileManager.default.removeItem(at: bodyFile)
            try? FileManager.default.removeItem(at: headFile)
        }
        return CurlResult(
            exitCode: result.exitCode,
            status: fields.count > 0 ? Int(fields[0]) ?? 0 : 0,
            heads: parseHeads(headText),
            body: discardBody ? [] : Array((try? Data(contentsOf: bodyFile)) ?? Data()),
            seconds: fields.count > 1 ? Double(fields[1]) ?? 0 : 0,
            connects: fields.count > 2 ? Int(fields[2]) ?? 0 : 0,
            stderr: result.log
        )
    }

    static func parseHeads(_ text: String) -> [(statusLine: String, headers: [(name: String, value: String)])] {
        var heads: [(statusLine: String, headers: [(name: String, value: String)])] = []
        for line in text.components(separatedBy: "\r\n") {
            if line.hasPrefix("HTTP/") {
                heads.append((line, []))
            } else if let colon = line.firstIndex(of: ":"), !heads.isEmpty {
                heads[heads.count - 1].headers.append(
                    (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                )
            }
        }
        return heads
    }
}
