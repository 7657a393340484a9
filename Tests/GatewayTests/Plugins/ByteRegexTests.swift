import Testing

@testable import Gateway

@Suite struct ByteRegexTests {
    /// The whole match and each group (nil when a group took no part), or nil when nothing matched.
    static func search(_ pattern: String, _ text: String) throws -> [String?]? {
        let regex = try ByteRegex(pattern)
        let workspace = UnsafeMutableRawPointer.allocate(byteCount: regex.workspaceSize, alignment: 16)
        defer { workspace.deallocate() }
        return Array(text.utf8).withUnsafeBytes { bytes in
            guard let slots = regex.search(bytes, in: workspace) else { return nil }
            let captures = RegexCaptures(text: bytes, slots: slots, groupCount: regex.groupCount)
            return (0...regex.groupCount).map { group in
                captures.group(group).map { String(decoding: $0, as: UTF8.self) }
            }
        }
    }

    static func error(_ pattern: String) -> String? {
        do {
            _ = try ByteRegex(pattern)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func anchoredPrefixWithGroup() throws {
        #expect(try Self.search("^/api/(.*)", "/api/users/1") == ["/api/users/1", "users/1"])
        #expect(try Self.search("^/api/(.*)", "/x/api/users") == nil)
    }

    @Test func findsTheLeftmostMatchAnywhere() throws {
        #expect(try Self.search("/v(\\d+)/", "/x/v12/y") == ["/v12/", "12"])
        #expect(try Self.search("b+", "aabbbcbb") == ["bbb"])
    }

    @Test func alternativesArePreferredInOrderLikePCRE() throws {
        #expect(try Self.search("a|ab", "ab") == ["a"])
        #expect(try Self.search("(a|ab)(c|bcd)", "abcd") == ["abcd", "a", "bcd"])
    }

    @Test func greedyAndLazyQuantifiers() throws {
        #expect(try Self.search("a.*b", "axxbyyb") == ["axxbyyb"])
        #expect(try Self.search("a.*?b", "axxbyyb") == ["axxb"])
        #expect(try Self.search("x{2,3}", "xxxx") == ["xxx"])
        #expect(try Self.search("x{2,3}?", "xxxx") == ["xx"])
        #expect(try Self.search("^x{2}$", "xxx") == nil)
        #expect(try Self.search("^x{2,}$", "xxxxx") == ["xxxxx"])
        #expect(try Self.search("^ab?c$", "ac") == ["ac"])
        #expect(try Self.search("^a+$", "") == nil)
    }

    @Test func classesAndEscapes() throws {
        #expect(try Self.search("[^/]+", "/abc/def") == ["abc"])
        #expect(try Self.search("^[a-c0-9_-]+$", "ab-9_c") == ["ab-9_c"])
        #expect(try Self.search("^[a-c]+$", "abd") == nil)
        #expect(try Self.search("\\w+\\s\\W", "hi ! x") == ["hi !"])
        #expect(try Self.search("^\\S+$", "a b") == nil)
        #expect(try Self.search("[\\d.]+", "v1.25x") == ["1.25"])
        #expect(try Self.search("\\x41\\/", "zA/") == ["A/"])
        #expect(try Self.search("[]a]+", "]a]") == ["]a]"])
    }

    @Test func originPatternsAsAPISIXDocumentsThem() throws {
        let pattern = "^https://.*\\.example\\.com$"
        #expect(try Self.search(pattern, "https://a.example.com") != nil)
        #expect(try Self.search(pattern, "https://a.example.com.evil.net") == nil)
        #expect(try Self.search(pattern, "https://aexample.com") == nil)
        #expect(try Self.search("http://.*?\\.domain\\.com", "http://sub.domain.com") != nil)
    }

    @Test func dotStopsAtNewlineAndDollarIsTheEnd() throws {
        #expect(try Self.search("^a.b$", "a\nb") == nil)
        #expect(try Self.search("a$", "aa") == ["a"])
        #expect(try Self.search("^$", "") == [""])
    }

    @Test func groupsKeepTheirLastIterationAndUnusedGroupsAreNil() throws {
        #expect(try Self.search("((a)|b)+", "ab") == ["ab", "b", "a"])
        #expect(try Self.search("(x)?y", "y") == ["y", nil])
        #expect(try Self.search("(?:ab)+(c)", "ababc") == ["ababc", "c"])
    }

    @Test func emptyLoopsTerminate() throws {
        // PCRE reports the last, empty iteration of the group (""); this engine the last non-empty one.
        #expect(try Self.search("(a*)*b", "aaab")?.first == "aaab")
        #expect(try Self.search("(a|)*c", "aac") != nil)
        #expect(try Self.search("(a*)+$", String(repeating: "a", count: 2000) + "b") == ["", ""])
    }

    @Test func hostileInputRunsInLinearTime() throws {
        // Catastrophic for a backtracker; the Pike VM visits each (state, position) once.
        let text = String(repeating: "a", count: 5000) + "!"
        #expect(try Self.search("^(a+)+$", text) == nil)
    }

    @Test func braceThatIsNotAQuantifierIsLiteral() throws {
        #expect(try Self.search("a{x", "a{x") == ["a{x"])
        #expect(try Self.search("a{2", "a{2") == ["a{2"])
    }

    @Test func unsupportedOrBrokenPatternsAreReported() {
        #expect(Self.error("(abc")?.contains("missing \")\"") == true)
        #expect(Self.error("abc)")?.contains("unmatched") == true)
        #expect(Self.error("*a")?.contains("nothing to repeat") == true)
        #expect(Self.error("\\bword")?.contains("unsupported escape \\b") == true)
        #expect(Self.error("[a")?.contains("missing \"]\"") == true)
        #expect(Self.error("a{3,2}")?.contains("out of order") == true)
        #expect(Self.error("(?=x)")?.contains("(?: )") == true)
        #expect(Self.error("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)")?.contains("9 capturing groups") == true)
        #expect(Self.error("[z-a]")?.contains("out of order") == true)
        #expect(Self.error("a{1001}")?.contains("above 1000") == true)
        #expect(Self.error("a++")?.contains("possessive") == true)
        #expect(Self.error("x\\")?.contains("backslash") == true)
    }

    @Test func workspaceDoesNotDependOnTheText() throws {
        let regex = try ByteRegex("^/api/(v\\d+)/(.*)$")
        #expect(regex.groupCount == 2)
        #expect(regex.slotCount == 6)
        #expect(regex.workspaceSize > 0 && regex.workspaceSize < 4096)
    }
}
