import AccessLog
import Foundation
import Testing

/// The formatter's fast paths (word-at-a-time escaping, cached timestamps, direct IPv4 and decimal
/// output) checked against independent references: Foundation's JSON parser, `gmtime_r`, Swift's own
/// number printing.
@Suite struct LineFormattingTests {
    /// Pieces random text is built from, each with the text a JSON parser must give back for it.
    static let atoms: [(bytes: [UInt8], decoded: String)] = {
        var atoms: [(bytes: [UInt8], decoded: String)] = []
        for character in "abcxyzABZ019/-_.~?&=%+:;, " {
            atoms.append((Array(String(character).utf8), String(character)))
        }
        for special in ["\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1F}", "\u{7F}", "é", "€", "𝄞", "ü"] {
            atoms.append((Array(special.utf8), special))
        }
        // Bytes that are never valid UTF-8 on their own come back as U+FFFD.
        for invalid: UInt8 in [0x80, 0xBF, 0xC0, 0xFF] {
            atoms.append(([invalid], "\u{FFFD}"))
        }
        return atoms
    }()

    /// Random text of `length` atoms, mostly plain letters so that long clean runs occur.
    static func randomText(atoms length: Int, using random: inout some RandomNumberGenerator) -> ([UInt8], String) {
        var bytes: [UInt8] = []
        var decoded = ""
        for _ in 0..<length {
            let plain = Int.random(in: 0..<10, using: &random) < 7
            let atom = plain ? atoms[Int.random(in: 0..<26, using: &random)] : atoms.randomElement(using: &random)!
            bytes += atom.bytes
            decoded += atom.decoded
        }
        return (bytes, decoded)
    }

    /// Writes `fill`ed records as plain lines and returns them.
    static func lines(
        format: AccessLogFormat = .json,
        count: Int,
        symbols: [String] = [],
        fill: (Int, [AccessLogSymbol], inout AccessRecord) -> Void
    ) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, ringCapacity: 8192)
        configuration.format = format
        configuration.compression = .none
        let logger = try AccessLogger(configuration: configuration)
        let registered = try symbols.map { try logger.register($0) }
        let ring = logger.makeRing()
        try logger.start()
        var pushed = 0
        for index in 0..<count where ring.push(filling: { fill(index, registered, &$0) }) {
            pushed += 1
        }
        #expect(pushed == count)
        logger.shutdown()
        let text = try String(contentsOfFile: directory.file("access.log"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func textOfEveryLengthAndMixRoundTripsThroughJSON() throws {
        var random = SystemRandomNumberGenerator()
        var expected: [(path: String, agent: String, id: String, route: String)] = []
        var inputs: [(path: [UInt8], agent: [UInt8], id: [UInt8])] = []
        var symbolNames: [String] = []
        for index in 0..<3000 {
            // Lengths 0...40 atoms cover the short single-word case, exact multiples of eight and tails.
            let path = Self.randomText(atoms: index % 41, using: &random)
            let agent = Self.randomText(atoms: Int.random(in: 0...30, using: &random), using: &random)
            let id = Self.randomText(atoms: Int.random(in: 0...12, using: &random), using: &random)
            inputs.append((path.0, agent.0, id.0))
            expected.append((path.1, agent.1, id.1, ""))
        }
        for length in 1...20 {
            // Symbols are registered as Swift strings, so only valid UTF-8 atoms go into them.
            var name = ""
            for _ in 0..<length {
                name += Self.atoms.filter { $0.decoded != "\u{FFFD}" }.randomElement(using: &random)!.decoded
            }
            if !symbolNames.contains(name) { symbolNames.append(name) }
        }
        for index in expected.indices {
            expected[index].route = symbolNames[index % symbolNames.count]
        }
        let lines = try Self.lines(count: inputs.count, symbols: symbolNames) { index, symbols, record in
            inputs[index].path.withUnsafeBytes { record.setPath($0) }
            inputs[index].agent.withUnsafeBytes { record.setUserAgent($0) }
            inputs[index].id.withUnsafeBytes { record.setRequestID($0) }
            record.route = symbols[index % symbols.count]
            record.status = 200
        }
        #expect(lines.count == expected.count)
        for (line, want) in zip(lines, expected) {
            guard let object = jsonObject(line) else {
                Issue.record("not valid JSON: \(line)")
                continue
            }
            #expect(object["path"] as? String == want.path, "\(line)")
            #expect(object["user_agent"] as? String == want.agent, "\(line)")
            #expect(object["request_id"] as? String == want.id, "\(line)")
            #expect(object["route"] as? String == want.route, "\(line)")
        }
    }

    @Test func combinedEscapesNonASCIIAndQuotesAsHex() throws {
        let lines = try Self.lines(format: .combined, count: 2) { index, _, record in
            record.time = 1_700_000_000_000_000_000
            record.status = 200
            record.setPath(index == 0 ? "/plain/path/that/is/long/enough" : "/é\"q\\x")
            record.setUserAgent(index == 0 ? "agent" : "a\u{7F}b")
        }
        #expect(lines[0].contains(#""GET /plain/path/that/is/long/enough HTTP/1.1" 200 0 "-" "agent""#))
        #expect(lines[1].contains(#""GET /\xc3\xa9\x22q\x5cx HTTP/1.1" 200 0 "-" "a\x7fb""#))
    }

    @Test func everyIPv4OctetPrintsAsDottedDecimal() throws {
        let lines = try Self.lines(count: 256) { index, _, record in
            let octet = UInt8(index)
            record.client = ClientAddress(ipv4: (octet, 255 &- octet, octet / 2, 7))
            record.status = 200
        }
        for (index, line) in lines.enumerated() {
            #expect(jsonObject(line)?["client"] as? String == "\(index).\(255 - index).\(index / 2).7")
        }
    }

    @Test func timestampsMatchGmtimeAcrossMillisecondAndSecondBoundaries() throws {
        var random = SystemRandomNumberGenerator()
        var times: [Int64] = []
        var time: Int64 = 1_700_000_000_999_000_000
        for _ in 0..<2000 {
            // Mostly small steps (same or next millisecond), sometimes days, sometimes backwards.
            switch Int.random(in: 0..<10, using: &random) {
            case 0: time += Int64.random(in: 0..<400 * 86_400_000_000_000, using: &random)
            case 1: time -= Int64.random(in: 0..<5_000_000_000, using: &random)
            default: time += Int64.random(in: 0..<700_000, using: &random)
            }
            times.append(time)
        }
        let lines = try Self.lines(count: times.count) { index, _, record in
            record.time = times[index]
            record.status = 200
        }
        for (line, time) in zip(lines, times) {
            var seconds = time_t(time / 1_000_000_000)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let want = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                parts.tm_year + 1900,
                parts.tm_mon + 1,
                parts.tm_mday,
                parts.tm_hour,
                parts.tm_min,
                parts.tm_sec,
                Int(time % 1_000_000_000 / 1_000_000)
            )
            #expect(jsonObject(line)?["time"] as? String == want)
        }
    }

    @Test func numbersOfEveryWidthPrintExactly() throws {
        var values: [UInt64] = [0, 9, 10, 99, 100, UInt64.max, UInt64.max / 10, 10_000_000_000_000_000_000]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        let lines = try Self.lines(count: values.count) { index, _, record in
            record.bytesOut = values[index]
            record.bytesIn = values[values.count - 1 - index]
            record.duration = Int64(truncatingIfNeeded: values[index] % UInt64(Int64.max))
            record.status = UInt16(truncatingIfNeeded: values[index] % 1000)
        }
        for (index, line) in lines.enumerated() {
            // Compare the raw text: Foundation would round 20-digit numbers through Double.
            #expect(line.contains(#""bytes_out":\#(values[index]),"#), "\(line)")
            #expect(line.contains(#""bytes_in":\#(values[values.count - 1 - index]),"#), "\(line)")
            #expect(line.contains(#""status":\#(values[index] % 1000),"#), "\(line)")
            let micros = Int64(truncatingIfNeeded: values[index] % UInt64(Int64.max)) / 1000
            let seconds = "\(micros / 1_000_000)." + String(String(micros % 1_000_000 + 1_000_000).dropFirst())
            #expect(line.contains(#""duration":\#(seconds),"#), "\(line)")
        }
    }
}
