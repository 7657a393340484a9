import AccessLog
import Foundation
import TestSupport
import Testing

/// The plugin-feature fields: `consumer`, `rejected_by` and the one plugin-supplied pair, in every
/// format, left out when absent, and kept through files, `logs tail` filters and format conversion.
@Suite struct PluginFieldTests {
    /// What the plugin fields of one record are set to (nil leaves a field unset).
    struct PluginValues {
        var consumer: String?
        var rejectedBy: String?
        var pluginName: String?
        var pluginValue: String?
    }

    /// Writes one record per entry of `values` (the other fields fixed) and returns the plain lines.
    static func lines(
        format: AccessLogFormat,
        fields: [AccessLogField] = AccessLogField.defaultFields(),
        _ values: [PluginValues]
    ) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, fields: fields)
        configuration.format = format
        configuration.compression = .none
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        let route = try logger.register("api")
        let symbol = { (name: String?) throws -> AccessLogSymbol in try name.map { try logger.register($0) } ?? .none }
        let symbols = try values.map {
            try [symbol($0.consumer), symbol($0.rejectedBy), symbol($0.pluginName), symbol($0.pluginValue)]
        }
        try logger.start()
        for record in symbols {
            let pushed = ring.push { entry in
                entry.time = 1_700_000_000_250_000_000  // 2023-11-14T22:13:20.250Z
                entry.duration = 1_500_000
                entry.status = 401
                entry.bytesOut = 20
                entry.client = ClientAddress(ipv4: (127, 0, 0, 1))
                entry.route = route
                entry.setRequestID("abc")
                entry.setPath("/p")
                entry.setUserAgent("agent/1.0")
                entry.consumer = record[0]
                entry.rejectedBy = record[1]
                entry.pluginFieldName = record[2]
                entry.pluginFieldValue = record[3]
            }
            #expect(pushed)
        }
        logger.shutdown()
        let text = try String(contentsOfFile: directory.file("access.log"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static let all = PluginValues(consumer: "jack", rejectedBy: "key-auth", pluginName: "tier", pluginValue: "gold")
    static let none = PluginValues()
    static let commonJSON =
        #"{"time":"2023-11-14T22:13:20.250Z","request_id":"abc","client":"127.0.0.1","method":"GET","path":"/p","#
        + #""protocol":"HTTP/1.1","status":401,"bytes_in":0,"bytes_out":20,"duration":0.001500,"route":"api","#
        + #""user_agent":"agent/1.0""#
    static let commonLogfmt =
        "time=2023-11-14T22:13:20.250Z request_id=abc client=127.0.0.1 method=GET path=/p protocol=HTTP/1.1 "
        + "status=401 bytes_in=0 bytes_out=20 duration=0.001500 route=api user_agent=agent/1.0"

    @Test func consumerAndRejectedByAreKnownDefaultFields() {
        #expect(AccessLogField(rawValue: "consumer") == .consumer)
        #expect(AccessLogField(rawValue: "rejected_by") == .rejectedBy)
        let defaults = AccessLogConfiguration(destination: .standardOutput).fields
        #expect(defaults.contains(.consumer) && defaults.contains(.rejectedBy) && defaults.contains(.plugin))
        // Appended after the fields that were there before, so existing lines keep their order.
        #expect(Array(defaults.suffix(3)) == [.consumer, .rejectedBy, .plugin])
    }

    @Test func jsonWritesThemWhenSetAndLeavesThemOutOtherwise() throws {
        let lines = try Self.lines(format: .json, [Self.all, Self.none])
        #expect(
            lines == [
                Self.commonJSON + #","consumer":"jack","rejected_by":"key-auth","tier":"gold"}"#,
                Self.commonJSON + "}",
            ]
        )
        #expect(jsonObject(lines[0])?["tier"] as? String == "gold")
    }

    @Test func logfmtWritesThemWhenSetAndLeavesThemOutOtherwise() throws {
        let lines = try Self.lines(format: .logfmt, [Self.all, Self.none])
        #expect(lines == [Self.commonLogfmt + " consumer=jack rejected_by=key-auth tier=gold", Self.commonLogfmt])
    }

    @Test func combinedCarriesTheConsumerAsRemoteUserAndRejectedByOnlyWhenSet() throws {
        let lines = try Self.lines(
            format: .combined,
            [Self.all, Self.none, PluginValues(consumer: "jack")]
        )
        let request = #"[14/Nov/2023:22:13:20 +0000] "GET /p HTTP/1.1" 401 20 "-" "agent/1.0""#
        #expect(
            lines == [
                "127.0.0.1 - jack " + request + " rejected_by=key-auth",
                "127.0.0.1 - - " + request,
                "127.0.0.1 - jack " + request,
            ]
        )
    }

    @Test func eachFieldIsIndependentAndThePairNeedsBothHalves() throws {
        let values = [
            PluginValues(consumer: "jack"),
            PluginValues(rejectedBy: "key-auth"),
            PluginValues(pluginName: "tier"),
            PluginValues(pluginValue: "gold"),
            PluginValues(pluginName: "", pluginValue: "gold"),
            PluginValues(pluginName: "tier", pluginValue: ""),
        ]
        let fields: [AccessLogField] = [.status, .consumer, .rejectedBy, .plugin]
        #expect(
            try Self.lines(format: .json, fields: fields, values) == [
                #"{"status":401,"consumer":"jack"}"#,
                #"{"status":401,"rejected_by":"key-auth"}"#,
                #"{"status":401}"#,
                #"{"status":401}"#,
                #"{"status":401}"#,
                #"{"status":401,"tier":""}"#,
            ]
        )
        #expect(
            try Self.lines(format: .logfmt, fields: fields, values) == [
                "status=401 consumer=jack",
                "status=401 rejected_by=key-auth",
                "status=401",
                "status=401",
                "status=401",
                #"status=401 tier="""#,
            ]
        )
    }

    @Test func theFieldListDecidesWhetherAndWhereThePairGoes() throws {
        #expect(
            try Self.lines(format: .json, fields: [.status, .consumer], [Self.all]) == [
                #"{"status":401,"consumer":"jack"}"#
            ]
        )
        #expect(
            try Self.lines(format: .json, fields: [.plugin, .status], [Self.all]) == [#"{"tier":"gold","status":401}"#]
        )
        #expect(try Self.lines(format: .logfmt, fields: [.plugin, .status], [Self.all]) == ["tier=gold status=401"])
        // Only absent fields: still a JSON object.
        #expect(try Self.lines(format: .json, fields: [.plugin], [Self.none]) == ["{}"])
    }

    @Test func textThatNeedsItIsEscapedOrQuoted() throws {
        let odd = PluginValues(
            consumer: "jack \"j\" o'neil",
            rejectedBy: "ip\\restriction",
            pluginName: "odd key=\"x\"\té",
            pluginValue: "a b\nc"
        )
        let json = try Self.lines(format: .json, fields: [.consumer, .rejectedBy, .plugin], [odd])
        #expect(json.count == 1)
        let object = jsonObject(json.first ?? "")
        #expect(object?["consumer"] as? String == "jack \"j\" o'neil")
        #expect(object?["rejected_by"] as? String == "ip\\restriction")
        #expect(object?["odd key=\"x\"\té"] as? String == "a b\nc")
        let logfmt = try Self.lines(format: .logfmt, fields: [.consumer, .rejectedBy, .plugin], [odd])
        #expect(logfmt == [#"consumer="jack \"j\" o'neil" rejected_by="ip\\restriction" odd_key__x__é="a b\nc""#])
        let parsed = AccessLogLine(logfmt.first ?? "")
        #expect(parsed["consumer"] == .string("jack \"j\" o'neil"))
        #expect(parsed["rejected_by"] == .string("ip\\restriction"))
        #expect(parsed["odd_key__x__é"] == .string("a b\nc"))
    }

    @Test func resetClearsThem() {
        var record = AccessRecord()
        #expect(record.consumer == .none && record.rejectedBy == .none)
        #expect(record.pluginFieldName == .none && record.pluginFieldValue == .none)
        record.consumer = AccessLogSymbol(rawValue: 1)
        record.rejectedBy = AccessLogSymbol(rawValue: 2)
        record.pluginFieldName = AccessLogSymbol(rawValue: 3)
        record.pluginFieldValue = AccessLogSymbol(rawValue: 4)
        record.reset()
        #expect(record.consumer == .none && record.rejectedBy == .none)
        #expect(record.pluginFieldName == .none && record.pluginFieldValue == .none)
    }

    /// Through zstd frames on disk and back with the library's reader (what `gateway logs tail` runs):
    /// the lines keep the fields, `--where` filters on them, and conversion between formats keeps them.
    @Test func theyRoundTripThroughCompressedFilesAndTail() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        let ring = logger.makeRing()
        let consumers = try ["alice", "bob"].map { try logger.register($0) }
        let keyAuth = try logger.register("key-auth")
        let tier = try logger.register("tier")
        let gold = try logger.register("gold")
        try logger.start()
        let count = 300
        for index in 0..<count {
            // A consumer symbol registered while the logger runs is named in the very next line.
            let late = try logger.register("late-\(index)")
            let pushed = ring.push { record in
                record.status = index % 3 == 2 ? 401 : 200
                record.setRequestID("r\(index)")
                switch index % 3 {
                case 0:
                    record.consumer = consumers[index % 2]
                    record.pluginFieldName = tier
                    record.pluginFieldValue = gold
                case 1: record.consumer = late
                default: record.rejectedBy = keyAuth
                }
            }
            #expect(pushed)
        }
        logger.shutdown()

        let (status, decompressed) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        var lines: [String] = []
        try AccessLogTail(path: directory.path, options: AccessLogTailOptions(lines: count)).run { lines.append($0) }
        #expect(lines == decompressed)
        #expect(lines.count == count)
        for (index, line) in lines.enumerated() {
            let object = jsonObject(line)
            switch index % 3 {
            case 0:
                #expect(object?["consumer"] as? String == (index % 2 == 0 ? "alice" : "bob"), "\(line)")
                #expect(object?["tier"] as? String == "gold", "\(line)")
                #expect(object?["rejected_by"] == nil, "\(line)")
            case 1:
                #expect(object?["consumer"] as? String == "late-\(index)", "\(line)")
                #expect(object?["tier"] == nil && object?["rejected_by"] == nil, "\(line)")
            default:
                #expect(object?["rejected_by"] as? String == "key-auth", "\(line)")
                #expect(object?["consumer"] == nil && object?["tier"] == nil, "\(line)")
            }
        }

        func tail(_ filters: [(field: String, value: String)], format: AccessLogFormat? = nil) throws -> [String] {
            var shown: [String] = []
            let options = AccessLogTailOptions(lines: count, format: format, filters: filters)
            try AccessLogTail(path: directory.path, options: options).run { shown.append($0) }
            return shown
        }
        let ids = { (shown: [String]) in shown.map { AccessLogLine($0)["request_id"]?.text ?? "?" } }
        #expect(try ids(tail([("consumer", "alice")])) == stride(from: 0, to: count, by: 6).map { "r\($0)" })
        #expect(try ids(tail([("rejected_by", "key-auth")])) == stride(from: 2, to: count, by: 3).map { "r\($0)" })
        #expect(
            try ids(tail([("tier", "gold"), ("consumer", "bob")])) == stride(from: 3, to: count, by: 6).map { "r\($0)" }
        )
        #expect(try tail([("rejected_by", "basic-auth")]).isEmpty)

        // Converted to logfmt and back, the fields are unchanged.
        let logfmt = try tail([("consumer", "alice")], format: .logfmt)
        #expect(logfmt.first?.hasSuffix(" consumer=alice tier=gold") == true)
        #expect(logfmt.map { AccessLogLine($0).rendered(as: .json) } == (try tail([("consumer", "alice")])))
    }
}
