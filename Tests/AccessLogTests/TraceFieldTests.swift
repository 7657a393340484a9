import Foundation
import TestSupport
import Testing

@testable import AccessLog

/// The `trace_id` field (issue 14): 32 lowercase hex digits in every format only when the record has a
/// trace id, opt-in in the default field list, and understood by `gateway logs` conversion and filters.
@Suite struct TraceFieldTests {
    static let traceHigh: UInt64 = 0x4bf9_2f35_77b3_4da6
    static let traceLow: UInt64 = 0xa3ce_929d_0e0e_4736
    static let traceText = "4bf92f3577b34da6a3ce929d0e0e4736"
    /// Trace ids to write, one record each: a full one, none, and one with leading zero digits.
    static let traces: [(UInt64, UInt64)] = [(traceHigh, traceLow), (0, 0), (0, 0x1f)]
    static let traceTexts: [String?] = [traceText, nil, "0000000000000000000000000000001f"]

    static let tracingFields = AccessLogField.defaultFields(tracing: true)

    /// Writes one record per trace id (other fields fixed) and returns the plain lines.
    static func lines(
        format: AccessLogFormat,
        fields: [AccessLogField] = tracingFields,
        _ traces: [(UInt64, UInt64)] = traces
    ) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, fields: fields)
        configuration.format = format
        configuration.compression = .none
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        let route = try logger.register("api")
        try logger.start()
        for (high, low) in traces {
            let pushed = ring.push { entry in
                entry.time = 1_700_000_000_250_000_000  // 2023-11-14T22:13:20.250Z
                entry.duration = 1_500_000
                entry.status = 200
                entry.bytesOut = 20
                entry.client = ClientAddress(ipv4: (127, 0, 0, 1))
                entry.route = route
                entry.setRequestID("abc")
                entry.setPath("/p")
                entry.setUserAgent("agent/1.0")
                entry.traceIDHigh = high
                entry.traceIDLow = low
            }
            #expect(pushed)
        }
        logger.shutdown()
        let text = try String(contentsOfFile: directory.file("access.log"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func itIsAKnownFieldOptInAfterRequestID() {
        #expect(AccessLogField(rawValue: "trace_id") == .traceID)
        #expect(!AccessLogField.defaultFields().contains(.traceID))
        #expect(!AccessLogField.defaultFields(tls: true).contains(.traceID))
        #expect(!AccessLogConfiguration(destination: .standardOutput).fields.contains(.traceID))
        let tracing = AccessLogField.defaultFields(tracing: true)
        let requestID = tracing.firstIndex(of: .requestID)
        #expect(requestID != nil && tracing.firstIndex(of: .traceID) == requestID.map { $0 + 1 })
        // Otherwise the same list as without tracing.
        #expect(tracing.filter { $0 != .traceID } == AccessLogField.defaultFields())
        #expect(AccessLogField.defaultFields(tls: true, tracing: true) == AccessLogField.allCases)
    }

    @Test func theRecordStaysPackedAndInitAndResetClearIt() {
        // Two 8-byte words among the other 8-byte fields: 522 + 16 bytes, the only padding at the end.
        #expect(MemoryLayout<AccessRecord>.size == 539)
        #expect(MemoryLayout<AccessRecord>.stride == 544)
        #expect(MemoryLayout<AccessRecord>.offset(of: \AccessRecord.traceIDHigh) == 40)
        #expect(MemoryLayout<AccessRecord>.offset(of: \AccessRecord.traceIDLow) == 48)
        var record = AccessRecord()
        #expect(record.traceIDHigh == 0 && record.traceIDLow == 0)
        record.traceIDHigh = 1
        record.traceIDLow = 2
        record.reset()
        #expect(record.traceIDHigh == 0 && record.traceIDLow == 0)
    }

    @Test func jsonWritesItAfterRequestIDOnlyWhenSet() throws {
        let lines = try Self.lines(format: .json)
        #expect(lines.count == 3)
        #expect(
            lines.first
                == #"{"time":"2023-11-14T22:13:20.250Z","request_id":"abc","trace_id":"\#(Self.traceText)","#
                + #""client":"127.0.0.1","method":"GET","path":"/p","protocol":"HTTP/1.1","status":200,"bytes_in":0,"#
                + #""bytes_out":20,"duration":0.001500,"route":"api","user_agent":"agent/1.0"}"#
        )
        // Foundation's parser, independent of the library's: the same value, or no key at all.
        #expect(lines.map { jsonObject($0)?["trace_id"] as? String } == Self.traceTexts)
        #expect(lines.allSatisfy { jsonObject($0)?["request_id"] as? String == "abc" })
        #expect(!lines[1].contains("trace_id"))
    }

    @Test func logfmtWritesItUnquotedOnlyWhenSet() throws {
        let lines = try Self.lines(format: .logfmt)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("time=2023-11-14T22:13:20.250Z request_id=abc trace_id=\(Self.traceText) client="))
        #expect(!lines[1].contains("trace_id"))
        #expect(lines.map { AccessLogLine($0)["trace_id"]?.text } == Self.traceTexts)
    }

    @Test func itIsLeftOutWhenNotInTheFieldList() throws {
        let lines = try Self.lines(format: .json, fields: AccessLogField.defaultFields())
        #expect(lines.count == 3 && lines.allSatisfy { !$0.contains("trace_id") })
        let expected = [
            "status=200 trace_id=\(Self.traceText)", "status=200",
            "status=200 trace_id=0000000000000000000000000000001f",
        ]
        #expect(try Self.lines(format: .logfmt, fields: [.status, .traceID]) == expected)
    }

    /// combined ignores the field list: `trace_id=` is appended last, only on requests with a trace.
    @Test func combinedAppendsItOnlyWhenSetWhateverTheFieldList() throws {
        let request = #"127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /p HTTP/1.1" 200 20 "-" "agent/1.0""#
        let expected = [
            request + " trace_id=\(Self.traceText)", request, request + " trace_id=0000000000000000000000000000001f",
        ]
        #expect(try Self.lines(format: .combined) == expected)
        #expect(try Self.lines(format: .combined, fields: AccessLogField.defaultFields()) == expected)
    }

    /// `gateway logs` conversion (``AccessLogLine/rendered(as:)``) gives the writer's own lines.
    @Test func conversionBetweenFormatsGivesTheWritersLines() throws {
        let json = try Self.lines(format: .json)
        let logfmt = try Self.lines(format: .logfmt)
        let combined = try Self.lines(format: .combined)
        #expect(json.count == 3 && logfmt.count == 3 && combined.count == 3)
        #expect(json.map { AccessLogLine($0).rendered(as: .combined) } == combined)
        #expect(logfmt.map { AccessLogLine($0).rendered(as: .combined) } == combined)
        #expect(json.map { AccessLogLine($0).rendered(as: .logfmt) } == logfmt)
        #expect(logfmt.map { AccessLogLine($0).rendered(as: .json) } == json)
    }

    /// `gateway logs tail --where trace_id=<hex>` finds a trace's line, in JSON and logfmt files.
    @Test(arguments: [AccessLogFormat.json, .logfmt])
    func tailFiltersByTraceID(format: AccessLogFormat) throws {
        let lines = try Self.lines(format: format)
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let file = directory.file("access.log")
        try (lines.joined(separator: "\n") + "\n").writeTestFile(toPath: file)
        func shown(_ filter: String) throws -> [String] {
            var shown: [String] = []
            let options = AccessLogTailOptions(lines: 100, filters: [try AccessLogTailOptions.parseFilter(filter)])
            try AccessLogTail(path: file, options: options).run { shown.append($0) }
            return shown
        }
        #expect(try shown("trace_id=\(Self.traceText)") == [lines[0]])
        #expect(try shown("trace_id=0000000000000000000000000000001f") == [lines[2]])
        #expect(try shown("trace_id=\(String(Self.traceText.dropLast()))0").isEmpty)
    }

    /// Lines skipped by sampling are counted per ring by its producer and summed in the stats, apart
    /// from drops.
    @Test func sampledOutLinesAreCountedPerRingAndSummed() throws {
        let standalone = AccessLogRing(minimumCapacity: 2)
        #expect(standalone.sampledOut == 0)
        for _ in 0..<5 { standalone.countSampledOut() }
        #expect(standalone.sampledOut == 5 && standalone.dropped == 0)

        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path, ringCapacity: 2))
        let first = logger.makeRing()
        let second = logger.makeRing()
        #expect(logger.stats().sampledOut == 0)
        for _ in 0..<3 { first.countSampledOut() }
        for _ in 0..<4 { second.countSampledOut() }
        // A full ring (the logger is not started, so nothing drains) drops; drops are not sampling.
        for _ in 0..<3 { first.push(AccessRecord()) }
        let stats = logger.stats()
        #expect(stats.sampledOut == 7)
        #expect(stats.recordsDropped == 1)
        #expect(stats.recordsWritten == 0)
        #expect(first.sampledOut == 3 && second.sampledOut == 4)
    }
}
