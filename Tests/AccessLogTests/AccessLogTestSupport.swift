import AccessLog
import Foundation
import Synchronization
import TestSupport

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        self.path = try TestFiles.makeTemporaryDirectory("accesslog-test").path
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: self.path)
    }

    func file(_ name: String) -> String { self.path + "/" + name }
}

/// The `gateway` executable built next to this test bundle, or nil when it was not built.
let gatewayBinary: String? = {
    let candidate = TestFiles.buildDirectory.appendingPathComponent("gateway").path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}()

/// Parses one JSON line into a dictionary with Foundation (an independent parser from the library's).
func jsonObject(_ line: String) -> [String: Any]? {
    guard let data = line.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// Collects a child process's standard output lines as they arrive, with the time each arrived.
final class LineCollector: Sendable {
    private let lines = Mutex<[(line: String, arrived: ContinuousClock.Instant)]>([])
    private let partial = Mutex<Data>(Data())

    /// Reads on a thread of its own with blocking reads until end of stream. (Foundation's
    /// `readabilityHandler` leaks its dispatch-source bookkeeping, which LeakSanitizer reports.)
    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                self.append(data, arrived: ContinuousClock.now)
            }
        }
        thread.start()
    }

    private func append(_ data: Data, arrived: ContinuousClock.Instant) {
        partial.withLock { partial in
            partial.append(data)
            while let newline = partial.firstIndex(of: 0x0A) {
                let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                partial.removeSubrange(partial.startIndex...newline)
                lines.withLock { $0.append((line, arrived)) }
            }
        }
    }

    var snapshot: [String] { self.lines.withLock { $0.map(\.line) } }

    /// Waits until `predicate` holds for the collected lines or `timeout` seconds pass; returns how long after
    /// the call the line that made it hold arrived. The time is taken as the line is read, so that how soon a
    /// busy test runner gets round to polling does not count.
    func wait(timeout: Double, until predicate: ([String]) -> Bool) async throws -> Double? {
        let start = ContinuousClock.now
        guard
            try await eventually(timeout: .seconds(timeout), interval: .milliseconds(10), { predicate(self.snapshot) })
        else { return nil }
        let lines = self.lines.withLock { $0 }
        // The shortest run of lines it holds for ends with the line that made it hold.
        guard let count = (0...lines.count).first(where: { predicate(lines.prefix($0).map(\.line)) }), count > 0 else {
            return 0
        }
        let taken = lines[count - 1].arrived - start
        return max(0, Double(taken.components.seconds) + Double(taken.components.attoseconds) * 1e-18)
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
    fields: [AccessLogField] = AccessLogField.defaultFields(),
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
