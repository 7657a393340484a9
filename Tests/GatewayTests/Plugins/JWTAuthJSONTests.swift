import Foundation
import Testing

@testable import Gateway

/// The JSON reader `jwt-auth` parses token headers and claims with, against Foundation's parser.
@Suite struct JWTAuthJSONTests {
    enum Member: Equatable {
        case string(String)
        case number(String)
        case other
    }

    /// The top-level members of `text`, or nil when the reader rejects it.
    static func members(_ text: String) -> [(String, Member)]? {
        var bytes = Array(text.utf8)
        var members: [(String, Member)] = []
        let ok = bytes.withUnsafeMutableBytes { buffer in
            JWTJSON.forEachMember(in: buffer) { name, value in
                let member: Member =
                    switch value {
                    case .string(let text): .string(String(decoding: text, as: UTF8.self))
                    case .number(let text): .number(String(decoding: text, as: UTF8.self))
                    case .other: .other
                    }
                members.append((String(decoding: name, as: UTF8.self), member))
            }
        }
        return ok ? members : nil
    }

    @Test func readsTopLevelMembers() throws {
        let members = try #require(
            Self.members(
                #" { "alg" : "HS256", "n":-1.5e+3, "t":true, "f":false, "z":null, "o":{"a":[1,{"b":[]}]}, "a":[] } "#
            )
        )
        #expect(members.map(\.0) == ["alg", "n", "t", "f", "z", "o", "a"])
        #expect(members.map(\.1) == [.string("HS256"), .number("-1.5e+3"), .other, .other, .other, .other, .other])
        #expect(try #require(Self.members("{}")).isEmpty)
    }

    @Test func unescapesNamesAndStrings() throws {
        let members = try #require(
            Self.members(#"{"k\u0065y":"a\"b\\c\/d\b\f\n\r\t","u":"\u00e9\u20ac\ud83d\ude00","z":"\u0000"}"#)
        )
        #expect(members.map(\.0) == ["key", "u", "z"])
        #expect(members[0].1 == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(members[1].1 == .string("é€😀"))
        #expect(members[2].1 == .string("\u{0}"))
    }

    @Test func rejectsAnythingButOneWellFormedObject() {
        let bad = [
            "", " ", "[]", "\"s\"", "1", "null", "{", "}", "{}{}", "{} x", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
            "{,}", "{a:1}", "{'a':1}", "{\"a\":1 \"b\":2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
            "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,]}", "{\"a\":[1 2]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}",
            "{\"a\":\"\\ud83d\\u0041\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"line\nbreak\"}", "{\"a\":NaN}",
            "{\"a\":Infinity}", "\u{FEFF}{}",
        ]
        for text in bad {
            #expect(Self.members(text) == nil, "\(text.debugDescription)")
            // Foundation agrees that none of these is a JSON object.
            let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            // (Foundation also takes trailing commas, and skips a byte order mark.)
            if !["{}{}", "\u{FEFF}{}", "{\"a\":1,}", "{\"a\":[1,]}"].contains(text) {
                #expect(parsed == nil, "\(text.debugDescription)")
            }
        }
    }

    @Test func limitsNesting() {
        let deep =
            String(repeating: "[", count: JWTJSON.maximumDepth - 1)
            + String(repeating: "]", count: JWTJSON.maximumDepth - 1)
        #expect(Self.members("{\"a\":\(deep)}") != nil)
        let tooDeep = "[" + deep + "]"
        #expect(Self.members("{\"a\":\(tooDeep)}") == nil)
        let hostile = String(repeating: "[", count: 100_000)
        #expect(Self.members("{\"a\":\(hostile)}") == nil)
    }

    @Test func acceptsWhatFoundationAcceptsOnRandomMutations() {
        // Mutations of a realistic claims object: the reader never crashes, and it accepts exactly the
        // objects Foundation's parser accepts. Left out, where Foundation is laxer or differs: trailing
        // commas, numbers too large for a Double (no
        // exponents), lone surrogates (no "d" to write one with) and duplicate names (not compared).
        let seed =
            #"{"key":"user-key","exp":1800003600,"nbf":-1.5,"aud":["a","b"],"x":{"y":null,"z":true},"s":"\u00e9\n"}"#
        let alphabet = Array(#"{}[]":.-+0123456789 trualsn\u"#.utf8)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var bytes = Array(seed.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let ours = Self.members(text)
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
            guard let ours else {
                let compact = text.filter { $0 != " " }
                let trailingComma = compact.contains(",]") || compact.contains(",}")
                #expect(foundation == nil || trailingComma, "rejected \(text)")
                continue
            }
            // Foundation keeps the last of duplicate names; the reader reports each.
            if Set(ours.map(\.0)).count == ours.count {
                #expect(foundation?.count == ours.count, "accepted \(text)")
            }
        }
    }

    @Test func numericDates() {
        func date(_ text: String) -> Double {
            Array(text.utf8).withUnsafeBytes { JWTJSON.numericDate($0) }
        }
        #expect(date("1800000000") == 1_800_000_000)
        #expect(date("-5") == -5)
        #expect(date("0") == 0)
        #expect(date("1800000000.5") == 1_800_000_000.5)
        #expect(date("1.8e9") == 1_800_000_000)
        #expect(date("18E+8") == 1_800_000_000)
        #expect(date("18000000000e-1") == 1_800_000_000)
        #expect(date("1e400") == .infinity)
        #expect(date("1e-400") == 0)
        #expect(date("1" + String(repeating: "0", count: 400)) == .infinity)
    }
}
