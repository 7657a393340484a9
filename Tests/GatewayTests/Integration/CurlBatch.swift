import Foundation
import TestSupport

/// What one curl transfer of a batch reported.
struct BatchTransfer {
    var url: String
    var status: Int
    /// Response body bytes received (`%{size_download}`).
    var bodyBytes: Int
    /// Response head bytes received (`%{size_header}`).
    var headerBytes: Int
    var requestID: String
}

enum CurlBatch {
    /// One curl process fetching every URL in order over kept-alive connections (`-o /dev/null` each),
    /// reporting status, sizes and the `X-Request-Id` response header of every transfer.
    static func run(_ urls: [String], _ arguments: [String] = [], in directory: URL) async throws -> [BatchTransfer] {
        var commandLine = [
            "--http1.1", "-sS", "-w", "%{http_code} %{size_download} %{size_header} %header{x-request-id}\\n",
        ]
        commandLine += arguments
        for url in urls {
            commandLine += ["-o", "/dev/null", url]
        }
        let result = try await Command.run("curl", commandLine, in: directory, timeout: .seconds(60))
        guard result.exitCode == 0 else {
            throw IntegrationError("curl batch failed (\(result.exitCode)): \(result.log)")
        }
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count == urls.count else {
            throw IntegrationError("curl reported \(lines.count) transfers for \(urls.count) URLs:\n\(result.stdout)")
        }
        return try zip(urls, lines).map { url, line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 4, let status = Int(fields[0]), let body = Int(fields[1]),
                let head = Int(fields[2])
            else {
                throw IntegrationError("bad curl -w line: \(line)")
            }
            return BatchTransfer(
                url: url,
                status: status,
                bodyBytes: body,
                headerBytes: head,
                requestID: String(fields[3])
            )
        }
    }
}
