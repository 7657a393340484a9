import AccessLog
import Foundation
import Synchronization

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let template = NSTemporaryDirectory() + "/accesslog-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw CocoaError(.fileWriteUnknown) }
        self.path = String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: self.path)
    }

    func file(_ name: String) -> String { self.path + "/" + name }
}

/// The `gateway` executable built next to this test bundle, or nil when it was not built.
let gatewayBinary: String? = {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let candidate = executable.deletingLastPathComponent().appendingPathComponent("gateway").path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}()

/// Runs a program to completion and returns its exit status and standard output.
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// Decompresses files with the real `zstd` CLI (`zstd -dc FILE...`), failing on any error.
func zstdDecompress(_ paths: [String]) throws -> (status: Int32, lines: [String]) {
    let (status, output) = try run("/usr/bin/zstd", ["-dcq"] + paths)
    var lines = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map(String.init)
    if lines.last == "" { lines.removeLast() }
    return (status, lines)
}

/// Parses one JSON line into a dictionary with Foundation (an independent parser from the library's).
func jsonObject(_ line: String) -> [String: Any]? {
    guard let data = line.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// Collects a child process's standard output lines as they arrive.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    private let partial = Mutex<Data>(Data())

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self.partial.withLock { partial in
                partial.append(data)
                while let newline = partial.firstIndex(of: 0x0A) {
                    let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                    partial.removeSubrange(partial.startIndex...newline)
                    self.lines.withLock { $0.append(line) }
                }
            }
        }
    }

    var snapshot: [String] { self.lines.withLock { $0 } }

    /// Waits until `predicate` holds for the collected lines or `timeout` seconds pass; returns the time taken.
    func wait(timeout: Double, until predicate: ([String]) -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if predicate(self.snapshot) { return Date().timeIntervalSince(start) }
            usleep(10_000)
        }
        return predicate(self.snapshot) ? Date().timeIntervalSince(start) : nil
    }
}

/// Fills `record` with recognisable values for sequence number `index` of writer `writer`.
func fillSample(_ record: inout AccessRecord, writer: Int, index: Int, route: AccessLogSymbol) {
    record.time = 1_700_000_000_123_000_000 + Int64(index) * 1_000_000
    record.duration = 2_345_000
    record.status = 200
    record.bytesIn = UInt64(writer)
    record.bytesOut = UInt64(index)
    record.route = route
    record.client = ClientAddress(ipv4: (10, 0, 0, UInt8(writer)))
}

/// A configuration for tests: a directory, frequent frames, no rotation unless asked.
func testConfiguration(
    _ directory: String,
    fields: [AccessLogField] = AccessLogField.allCases,
    ringCapacity: Int = 4096
) -> AccessLogConfiguration {
    AccessLogConfiguration(
        destination: .directory(directory),
        fields: fields,
        flushInterval: 0.2,
        frameSize: 256 << 10,
        maxFileSize: nil,
        maxAge: nil,
        retention: nil,
        ringCapacity: ringCapacity
    )
}
