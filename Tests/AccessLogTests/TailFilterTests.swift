import AccessLog
import Foundation
import TestSupport
import Testing

/// `logs tail --where` reads JSON values in place and skips lines by their bytes; whatever it decides
/// must equal what the full line parser (``AccessLogLine/matches(key:expected:)``) decides.
@Suite struct TailFilterTests {
    static let jsonValues = [
        #"404"#, #"404.0"#, #"4.04e2"#, #"404.5"#, #"499"#, #"502"#, #""404""#, #""4xx""#, #""x\"y""#, #""x y""#,
        "null", "true", "false", #""-""#, #""é""#,
        #""a\\b""#, #""x""#, #""""#, "-1", #"",}""#,
    ]
    static let expectedValues = [
        "404", "404.0", "x\"y", "x y", "-", "true", "é", "a\\b", "x", "", "-1", ",}", "y", "4xx", "4XX", "5xx",
    ]
    static let keys = ["a", "b", "status", "c"]

    static func randomLine(using random: inout some RandomNumberGenerator) -> String {
        let count = Int.random(in: 0...keys.count, using: &random)
        let fields = keys.shuffled(using: &random).prefix(count).map { key in
            "\"\(key)\":\(jsonValues.randomElement(using: &random)!)"
        }
        if Int.random(in: 0..<5, using: &random) == 0 {
            // logfmt now and then
            return keys.prefix(count).map {
                "\($0)=\(expectedValues.randomElement(using: &random)!.isEmpty ? "\"\"" : "v")"
            }
            .joined(separator: " ")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    @Test func inPlaceFilteringAgreesWithTheLineParser() throws {
        var random = SystemRandomNumberGenerator()
        let lines = (0..<3000).map { _ in Self.randomLine(using: &random) }.filter { !$0.isEmpty }
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let file = directory.file("access.log")
        try (lines.joined(separator: "\n") + "\n").writeTestFile(toPath: file)
        var matched = 0
        for _ in 0..<60 {
            var filters: [(field: String, value: String)] = []
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                filters.append(
                    (Self.keys.randomElement(using: &random)!, Self.expectedValues.randomElement(using: &random)!)
                )
            }
            let expected = lines.filter { line in
                let parsed = AccessLogLine(line)
                return filters.allSatisfy { parsed.matches(key: $0.field, expected: $0.value) }
            }
            var shown: [String] = []
            try AccessLogTail(path: file, options: AccessLogTailOptions(lines: 100_000, filters: filters)).run {
                shown.append($0)
            }
            #expect(shown == expected, "filters \(filters)")
            matched += expected.count
        }
        // The filters and values are drawn so that many lines match and many do not.
        #expect(matched > 100 && matched < 60 * lines.count / 2)
    }

    @Test func tailKeepsOnlyTheLastLinesOfALargeFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let file = directory.file("access.log")
        let lines = (0..<200_000).map { #"{"request_id":"r-\#($0)","status":\#($0 % 7 == 0 ? 404 : 200)}"# }
        try (lines.joined(separator: "\n") + "\n").writeTestFile(toPath: file)
        var shown: [String] = []
        try AccessLogTail(path: file, options: AccessLogTailOptions(lines: 3)).run { shown.append($0) }
        #expect(shown == Array(lines.suffix(3)))
        shown = []
        let options = AccessLogTailOptions(lines: 2, filters: [("status", "404")])
        try AccessLogTail(path: file, options: options).run { shown.append($0) }
        #expect(shown == Array(lines.filter { $0.hasSuffix("404}") }.suffix(2)))
    }
}

@Suite struct StatusClassFilterTests {
    @Test func statusClassMatchesWholeNumbersInItsHundred() {
        let line = { (status: String) in AccessLogLine(#"{"status":\#(status),"route":"api"}"#) }
        #expect(line("502").matches(key: "status", expected: "5xx"))
        #expect(line("599").matches(key: "status", expected: "5XX"))
        #expect(line("500.0").matches(key: "status", expected: "5xx"))
        #expect(!line("499").matches(key: "status", expected: "5xx"))
        #expect(!line("600").matches(key: "status", expected: "5xx"))
        #expect(!line("502.5").matches(key: "status", expected: "5xx"))
        #expect(!line("502").matches(key: "route", expected: "5xx"))
        #expect(AccessLogLine("status=404 route=api").matches(key: "status", expected: "4xx"))
        #expect(!line("502").matches(key: "status", expected: "6xx"))
    }
}
