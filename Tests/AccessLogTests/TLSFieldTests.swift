import Foundation
import TestSupport
import Testing

@testable import AccessLog

/// The TLS fields: `tls_protocol` and `tls_cipher` (empty for plain HTTP), `tls_client_subject` (only
/// with a verified client certificate), in every format, opt-in in the field list, and kept through
/// compressed files, `logs tail` filters and format conversion.
@Suite struct TLSFieldTests {
    /// What the TLS fields (and `rejected_by`) of one record are set to; nil leaves a field unset.
    struct TLSValues {
        var tlsProtocol: String?
        var cipher: String?
        var subject: String?
        var rejectedBy: String?
    }

    static let mutualTLS = TLSValues(
        tlsProtocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        subject: "CN=alice,O=Example"
    )
    static let serverTLS = TLSValues(tlsProtocol: "TLSv1.2", cipher: "ECDHE-ECDSA-AES128-GCM-SHA256")
    static let plain = TLSValues()
    static let rejected = TLSValues(tlsProtocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", rejectedBy: "key-auth")
    static let protocolOnly = TLSValues(tlsProtocol: "TLSv1.2")
    /// RFC 2253 escapes (`\,`), quotes and a DEL byte: text every format must escape or quote.
    static let oddSubject = TLSValues(
        tlsProtocol: "TLSv1.3",
        cipher: "TLS_CHACHA20_POLY1305_SHA256",
        subject: "CN=Doe\\, Jane,O=Example \"Corp\"\u{7F}"
    )
    static let every = [mutualTLS, serverTLS, plain, rejected, protocolOnly, oddSubject]

    static let commonJSON =
        #"{"time":"2023-11-14T22:13:20.250Z","request_id":"abc","client":"127.0.0.1","method":"GET","path":"/p","#
        + #""protocol":"HTTP/1.1","status":200,"bytes_in":0,"bytes_out":20,"duration":0.001500,"route":"api","#
        + #""user_agent":"agent/1.0""#
    static let commonLogfmt =
        "time=2023-11-14T22:13:20.250Z request_id=abc client=127.0.0.1 method=GET path=/p protocol=HTTP/1.1 "
        + "status=200 bytes_in=0 bytes_out=20 duration=0.001500 route=api user_agent=agent/1.0"
    static let combinedRequest =
        #"127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /p HTTP/1.1" 200 20 "-" "agent/1.0""#

    /// Writes one record per entry of `values` (the other fields fixed) and returns the plain lines.
    static func lines(
        format: AccessLogFormat,
        fields: [AccessLogField] = AccessLogField.defaultFields(tls: true),
        _ values: [TLSValues]
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
            try [symbol($0.tlsProtocol), symbol($0.cipher), symbol($0.subject), symbol($0.rejectedBy)]
        }
        try logger.start()
        for record in symbols {
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
                entry.tlsProtocol = record[0]
                entry.tlsCipher = record[1]
                entry.tlsClientSubject = record[2]
                entry.rejectedBy = record[3]
            }
            #expect(pushed)
        }
        logger.shutdown()
        let text = try String(contentsOfFile: directory.file("access.log"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func theyAreKnownFieldsOffByDefaultAndBeforeThePluginPairWhenAskedFor() {
        #expect(AccessLogField(rawValue: "tls_protocol") == .tlsProtocol)
        #expect(AccessLogField(rawValue: "tls_cipher") == .tlsCipher)
        #expect(AccessLogField(rawValue: "tls_client_subject") == .tlsClientSubject)
        #expect(AccessLogField.tlsFields == [.tlsProtocol, .tlsCipher, .tlsClientSubject])
        // Off by default, so lines of a gateway without TLS listeners keep their shape.
        let defaults = AccessLogConfiguration(destination: .standardOutput).fields
        #expect(defaults == AccessLogField.defaultFields())
        #expect(AccessLogField.tlsFields.allSatisfy { !defaults.contains($0) })
        #expect(
            defaults == AccessLogField.allCases.filter { !AccessLogField.tlsFields.contains($0) && $0 != .traceID }
        )
        // Asked for: every field but trace_id (opt-in with tracing), the TLS ones after rejected_by and
        // the plugin pair still last.
        let withTLS = AccessLogField.defaultFields(tls: true)
        #expect(withTLS == AccessLogField.allCases.filter { $0 != .traceID })
        let tail: [AccessLogField] = [.consumer, .rejectedBy, .tlsProtocol, .tlsCipher, .tlsClientSubject, .plugin]
        #expect(Array(withTLS.suffix(6)) == tail)
    }

    @Test func theRecordStaysPackedAndResetClearsThem() {
        // Ten two-byte symbols sit together after the one-byte attempts: no padding inside the record.
        // (The two trace-id words, issue 14, sit with the other 8-byte fields: 522 + 16 bytes.)
        #expect(MemoryLayout<AccessRecord>.size == 539)
        #expect(MemoryLayout<AccessRecord>.stride == 544)
        var record = AccessRecord()
        #expect(record.tlsProtocol == .none && record.tlsCipher == .none && record.tlsClientSubject == .none)
        record.tlsProtocol = AccessLogSymbol(rawValue: 1)
        record.tlsCipher = AccessLogSymbol(rawValue: 2)
        record.tlsClientSubject = AccessLogSymbol(rawValue: 3)
        record.reset()
        #expect(record.tlsProtocol == .none && record.tlsCipher == .none && record.tlsClientSubject == .none)
    }

    /// The logging thread refreshes its view of the symbol table when a record refers past it, so every
    /// symbol field must count (a subject registered mid-turn would otherwise be written empty).
    @Test func theirSymbolsCountWhenTheLoggingThreadChecksForNewOnes() {
        var record = AccessRecord()
        record.route = AccessLogSymbol(rawValue: 2)
        record.tlsProtocol = AccessLogSymbol(rawValue: 7)
        #expect(record.highestSymbolIndex == 7)
        record.tlsCipher = AccessLogSymbol(rawValue: 8)
        #expect(record.highestSymbolIndex == 8)
        record.tlsClientSubject = AccessLogSymbol(rawValue: 9)
        #expect(record.highestSymbolIndex == 9)
    }

    @Test func jsonWritesProtocolAndCipherEmptyForPlainHTTPAndTheSubjectOnlyWhenSet() throws {
        let lines = try Self.lines(format: .json, Self.every)
        #expect(
            Array(lines.prefix(5)) == [
                Self.commonJSON
                    + #","tls_protocol":"TLSv1.3","tls_cipher":"TLS_AES_128_GCM_SHA256","#
                    + #""tls_client_subject":"CN=alice,O=Example"}"#,
                Self.commonJSON + #","tls_protocol":"TLSv1.2","tls_cipher":"ECDHE-ECDSA-AES128-GCM-SHA256"}"#,
                Self.commonJSON + #","tls_protocol":"","tls_cipher":""}"#,
                Self.commonJSON
                    + #","rejected_by":"key-auth","tls_protocol":"TLSv1.3","tls_cipher":"TLS_AES_256_GCM_SHA384"}"#,
                Self.commonJSON + #","tls_protocol":"TLSv1.2","tls_cipher":""}"#,
            ]
        )
        let odd = jsonObject(lines.last ?? "")
        #expect(odd?["tls_client_subject"] as? String == Self.oddSubject.subject)
        #expect(odd?["tls_cipher"] as? String == "TLS_CHACHA20_POLY1305_SHA256")
    }

    @Test func logfmtWritesThemTheSameWayQuotingTheSubject() throws {
        let lines = try Self.lines(format: .logfmt, Self.every)
        #expect(
            lines == [
                Self.commonLogfmt
                    + #" tls_protocol=TLSv1.3 tls_cipher=TLS_AES_128_GCM_SHA256 tls_client_subject="CN=alice,O=Example""#,
                Self.commonLogfmt + " tls_protocol=TLSv1.2 tls_cipher=ECDHE-ECDSA-AES128-GCM-SHA256",
                Self.commonLogfmt + #" tls_protocol="" tls_cipher="""#,
                Self.commonLogfmt + " rejected_by=key-auth tls_protocol=TLSv1.3 tls_cipher=TLS_AES_256_GCM_SHA384",
                Self.commonLogfmt + #" tls_protocol=TLSv1.2 tls_cipher="""#,
                Self.commonLogfmt
                    + #" tls_protocol=TLSv1.3 tls_cipher=TLS_CHACHA20_POLY1305_SHA256 "#
                    + #"tls_client_subject="CN=Doe\\, Jane,O=Example \"Corp\"\u007f""#,
            ]
        )
        #expect(AccessLogLine(lines.last ?? "")["tls_client_subject"] == .string(Self.oddSubject.subject ?? ""))
    }

    @Test func combinedAppendsProtocolAndCipherOnlyOverTLSWhateverTheFieldList() throws {
        let expected = [
            Self.combinedRequest + " tls=TLSv1.3/TLS_AES_128_GCM_SHA256",
            Self.combinedRequest + " tls=TLSv1.2/ECDHE-ECDSA-AES128-GCM-SHA256",
            Self.combinedRequest,
            Self.combinedRequest + " rejected_by=key-auth tls=TLSv1.3/TLS_AES_256_GCM_SHA384",
            Self.combinedRequest + " tls=TLSv1.2/-",
            Self.combinedRequest + " tls=TLSv1.3/TLS_CHACHA20_POLY1305_SHA256",
        ]
        #expect(try Self.lines(format: .combined, Self.every) == expected)
        // combined ignores the field list, as it does for rejected_by.
        #expect(try Self.lines(format: .combined, fields: AccessLogField.defaultFields(), Self.every) == expected)
    }

    @Test func theyAreLeftOutWhenNotInTheFieldList() throws {
        #expect(
            try Self.lines(format: .json, fields: AccessLogField.defaultFields(), [Self.mutualTLS, Self.plain]) == [
                Self.commonJSON + "}", Self.commonJSON + "}",
            ]
        )
        #expect(
            try Self.lines(format: .logfmt, fields: [.status, .tlsClientSubject], [Self.mutualTLS, Self.plain]) == [
                #"status=200 tls_client_subject="CN=alice,O=Example""#, "status=200",
            ]
        )
    }

    /// `gateway logs` conversion (``AccessLogLine/rendered(as:)``) gives the writer's own lines.
    @Test func conversionBetweenFormatsGivesTheWritersLines() throws {
        let json = try Self.lines(format: .json, Self.every)
        let logfmt = try Self.lines(format: .logfmt, Self.every)
        let combined = try Self.lines(format: .combined, Self.every)
        #expect(json.count == Self.every.count && logfmt.count == json.count && combined.count == json.count)
        #expect(json.map { AccessLogLine($0).rendered(as: .combined) } == combined)
        #expect(logfmt.map { AccessLogLine($0).rendered(as: .combined) } == combined)
        #expect(json.map { AccessLogLine($0).rendered(as: .logfmt) } == logfmt)
        #expect(logfmt.map { AccessLogLine($0).rendered(as: .json) } == json)
    }

    /// Through zstd frames on disk and back with the library's reader (what `gateway logs tail` runs).
    @Test func theyRoundTripThroughCompressedFilesAndTail() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = testConfiguration(directory.path, fields: AccessLogField.defaultFields(tls: true))
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        let tls13 = try logger.register("TLSv1.3")
        let tls12 = try logger.register("TLSv1.2")
        let aes = try logger.register("TLS_AES_128_GCM_SHA256")
        let ecdhe = try logger.register("ECDHE-RSA-AES256-GCM-SHA384")
        try logger.start()
        let count = 3000
        for index in 0..<count {
            // A subject registered while the logger runs is named in the very next line.
            let subject = try logger.register("CN=client-\(index),O=Example")
            let pushed = ring.push { record in
                record.status = 200
                record.setRequestID("r\(index)")
                switch index % 3 {
                case 0:
                    record.tlsProtocol = tls13
                    record.tlsCipher = aes
                    record.tlsClientSubject = subject
                case 1:
                    record.tlsProtocol = tls12
                    record.tlsCipher = ecdhe
                default: break
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
                #expect(object?["tls_protocol"] as? String == "TLSv1.3", "\(line)")
                #expect(object?["tls_cipher"] as? String == "TLS_AES_128_GCM_SHA256", "\(line)")
                #expect(object?["tls_client_subject"] as? String == "CN=client-\(index),O=Example", "\(line)")
            case 1:
                #expect(object?["tls_protocol"] as? String == "TLSv1.2", "\(line)")
                #expect(object?["tls_cipher"] as? String == "ECDHE-RSA-AES256-GCM-SHA384", "\(line)")
                #expect(object?["tls_client_subject"] == nil, "\(line)")
            default:
                #expect(object?["tls_protocol"] as? String == "", "\(line)")
                #expect(object?["tls_cipher"] as? String == "", "\(line)")
                #expect(object?["tls_client_subject"] == nil, "\(line)")
            }
        }

        func tail(_ filters: [(field: String, value: String)], format: AccessLogFormat? = nil) throws -> [String] {
            var shown: [String] = []
            let options = AccessLogTailOptions(lines: count, format: format, filters: filters)
            try AccessLogTail(path: directory.path, options: options).run { shown.append($0) }
            return shown
        }
        let ids = { (shown: [String]) in shown.map { AccessLogLine($0)["request_id"]?.text ?? "?" } }
        #expect(try ids(tail([("tls_protocol", "TLSv1.2")])) == stride(from: 1, to: count, by: 3).map { "r\($0)" })
        #expect(try ids(tail([("tls_protocol", "")])) == stride(from: 2, to: count, by: 3).map { "r\($0)" })
        let filter = try AccessLogTailOptions.parseFilter("tls_client_subject=CN=client-42,O=Example")
        #expect(try ids(tail([filter])) == ["r42"])
        #expect(try tail([("tls_client_subject", "CN=client-43,O=Example")]).isEmpty)

        // Shown as combined, only the TLS requests carry tls=.
        let shown = try tail([], format: .combined)
        #expect(shown.count == count)
        for (index, line) in shown.enumerated() {
            switch index % 3 {
            case 0: #expect(line.hasSuffix(" tls=TLSv1.3/TLS_AES_128_GCM_SHA256"), "\(line)")
            case 1: #expect(line.hasSuffix(" tls=TLSv1.2/ECDHE-RSA-AES256-GCM-SHA384"), "\(line)")
            default: #expect(line.hasSuffix(#"HTTP/1.1" 200 0 "-" "-""#), "\(line)")
            }
        }
    }
}
