import Testing

@testable import Gateway

@Suite struct AdminJSONTests {
    @Test func parsesAndWritesCompactTextWithSortedKeys() throws {
        let value = try AdminJSONParser.parse(
            #" { "uri": "/a", "methods": ["GET", "POST"], "priority": 10, "weight": 0.50, "on": true, "x": null } "#
        )
        #expect(value.text == #"{"methods":["GET","POST"],"on":true,"priority":10,"uri":"/a","weight":0.50,"x":null}"#)
        #expect(try AdminJSONParser.parse(value.text) == value)
    }

    @Test func numbersKeepTheirText() throws {
        let value = try AdminJSONParser.parse("[1, -0, 1.5e3, 12345678901234567890]")
        #expect(value.text == "[1,-0,1.5e3,12345678901234567890]")
        #expect(AdminJSON.number("42").integer == 42)
        #expect(AdminJSON.number("4.2").integer == nil)
    }

    @Test func stringsRoundTripEscapesAndUnicode() throws {
        let value = try AdminJSONParser.parse(#""a\"b\\c\/d\n\t\u0001 \u00e9 \ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\n\t\u{01} é 😀"))
        #expect(value.text == #""a\"b\\c/d\n\t\u0001 é 😀""#)
        #expect(try AdminJSONParser.parse(value.text) == value)
    }

    @Test(arguments: [
        ("", "unexpected end of input, expected a value at byte 0"),
        ("{\"a\": 1,}", "expected a string key at byte 8"),
        ("{\"a\" 1}", "expected ':' after an object key at byte 5"),
        ("[1 2]", "expected ',' or ']' in an array at byte 3"),
        ("01", "invalid number, leading zeros are not allowed at byte 1"),
        ("\"abc", "unterminated string at byte 4"),
        ("tru", "invalid literal, expected 'true' at byte 0"),
        ("{} x", "unexpected data after the JSON value at byte 3"),
        ("\"\\ud800\"", "unpaired surrogate in \\u escape at byte 7"),
        ("'a'", "unexpected character ''', expected a value at byte 0"),
    ])
    func refusesInvalidTextWithTheOffset(text: String, message: String) {
        #expect(throws: AdminJSONError.self) { try AdminJSONParser.parse(text) }
        do {
            _ = try AdminJSONParser.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: AdminJSONError.self) { try AdminJSONParser.parse([0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        do {
            _ = try AdminJSONParser.parse(deep)
            Issue.record("parsed \(deep)")
        } catch {
            #expect(error.code == .tooDeep)
        }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? AdminJSONParser.parse(fine)) != nil)
    }

    /// The examples of RFC 7396, appendix A.
    @Test(arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatchFollowsRFC7396(target: String, patch: String, expected: String) throws {
        let merged = try AdminJSONParser.parse(target).mergePatched(with: try AdminJSONParser.parse(patch))
        #expect(merged.text == expected)
    }

    @Test func replacingAtASubPathCreatesObjectsAndRemovesOnNull() throws {
        let value = try AdminJSONParser.parse(#"{"uri":"/a","upstream":{"type":"roundrobin"}}"#)
        let methods = try #require(value.replacing(at: ["methods"], with: .array([.string("GET")])))
        #expect(methods.text == #"{"methods":["GET"],"upstream":{"type":"roundrobin"},"uri":"/a"}"#)
        let nodes = try #require(value.replacing(at: ["upstream", "nodes"], with: .object(["a:80": .number("1")])))
        #expect(nodes.text == #"{"upstream":{"nodes":{"a:80":1},"type":"roundrobin"},"uri":"/a"}"#)
        let created = try #require(value.replacing(at: ["plugins", "key-auth"], with: .object([:])))
        #expect(created.text == #"{"plugins":{"key-auth":{}},"upstream":{"type":"roundrobin"},"uri":"/a"}"#)
        let removed = try #require(value.replacing(at: ["uri"], with: .null))
        #expect(removed.text == #"{"upstream":{"type":"roundrobin"}}"#)
        #expect(value.replacing(at: ["uri", "x"], with: .null) == nil)
        #expect(value.replacing(at: [], with: .null) == nil)
    }
}
