import TestSupport
import Testing

@testable import Gateway

/// Every RESP2 reply type, whole or split at any byte, pipelined, malformed, and as the real server sends it.
@Suite struct RESPParserTests {
    static func parse(_ bytes: [UInt8]) -> (reply: RESPReply, consumed: Int)? {
        bytes.withUnsafeBytes { RESPParser.parse($0) }
    }

    static let replies: [(String, RESPReply)] = [
        ("+OK\r\n", .simple),
        ("+\r\n", .simple),
        ("-ERR unknown command 'FOO'\r\n", .error(.other)),
        ("-NOSCRIPT No matching script. Please use EVAL.\r\n", .error(.noScript)),
        ("-NOAUTH Authentication required.\r\n", .error(.authentication)),
        ("-WRONGPASS invalid username-password pair or user is disabled.\r\n", .error(.authentication)),
        ("-ERR invalid password\r\n", .error(.authentication)),
        ("-ERR\r\n", .error(.other)),
        (":0\r\n", .integer(0)),
        (":-5\r\n", .integer(-5)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulk(length: 5)),
        ("$4\r\na\r\nb\r\n", .bulk(length: 4)),
        ("$0\r\n\r\n", .bulk(length: 0)),
        ("$-1\r\n", .bulk(length: -1)),
        ("*2\r\n:4\r\n:1000\r\n", .integers(count: 2, first: 4, second: 1000, third: 0)),
        ("*3\r\n$2\r\n42\r\n:-1\r\n$2\r\n-7\r\n", .integers(count: 3, first: 42, second: -1, third: -7)),
        ("*1\r\n:9\r\n", .integers(count: 1, first: 9, second: 0, third: 0)),
        (
            "*5\r\n:1\r\n:2\r\n:3\r\n$3\r\nabc\r\n*2\r\n:4\r\n*0\r\n",
            .integers(count: 5, first: 1, second: 2, third: 3)
        ),
        ("*2\r\n$3\r\nabc\r\n:1\r\n", .array(count: 2)),
        ("*2\r\n:1\r\n$-1\r\n", .array(count: 2)),
        ("*2\r\n:1\r\n+OK\r\n", .array(count: 2)),
        ("*1\r\n-ERR inside\r\n", .array(count: 1)),
        ("*0\r\n", .array(count: 0)),
        ("*-1\r\n", .array(count: -1)),
        ("*2\r\n*2\r\n:1\r\n*1\r\n+x\r\n:5\r\n", .array(count: 2)),
        ("*3\r\n*-1\r\n*0\r\n*1\r\n*1\r\n*1\r\n$1\r\nz\r\n", .array(count: 3)),
        ("*1\r\n$21\r\n123456789012345678901\r\n", .array(count: 1)),
    ]

    @Test(arguments: replies)
    func aWholeReply(text: String, expected: RESPReply) throws {
        let bytes = Array(text.utf8)
        let parsed = try #require(Self.parse(bytes))
        #expect(parsed.reply == expected)
        #expect(parsed.consumed == bytes.count)
    }

    /// Every strict prefix is incomplete (never malformed, never a shorter reply).
    @Test(arguments: replies)
    func everyPrefixIsIncomplete(text: String, expected: RESPReply) {
        let bytes = Array(text.utf8)
        for length in 0..<bytes.count {
            let parsed = Self.parse(Array(bytes[..<length]))
            #expect(
                parsed == nil,
                "prefix of \(length) bytes of \(text.debugDescription): \(String(describing: parsed))"
            )
        }
    }

    /// Pipelined replies, one after another in one buffer, each read from where the last one ended.
    @Test func pipelinedRepliesAreReadOneAtATime() throws {
        let stream = Array(Self.replies.map(\.0).joined().utf8)
        var offset = 0
        for (text, expected) in Self.replies {
            let parsed = try #require(Self.parse(Array(stream[offset...])))
            #expect(parsed.reply == expected)
            #expect(parsed.consumed == text.utf8.count)
            offset += parsed.consumed
        }
        #expect(offset == stream.count)
    }

    static let garbage: [String] = [
        "hello\r\n",
        "?\r\n",
        "_\r\n",
        ",1.5\r\n",
        ":abc\r\n",
        ":\r\n",
        ":-\r\n",
        ":+1\r\n",
        ":1 \r\n",
        ":9223372036854775808\r\n",
        ":-9223372036854775809\r\n",
        ":1\rx",
        "+O\rK\r\n",
        "$-2\r\n",
        "$x\r\n",
        "$3\r\nabcd\r\n",
        "$3\r\nabc\n\r",
        "$999999999999\r\n",
        "*-2\r\n",
        "*99999999999\r\n",
        "*2\r\n:1\r\n?\r\n",
        "*2\r\n*1\r\n$1\r\nab\r\n:1\r\n",
        ":" + String(repeating: "1", count: 30),
        "$" + String(repeating: "1", count: 30),
        "+" + String(repeating: "x", count: 70_000),
    ]

    /// Malformed input is reported as `(.error(.other), -1)` as soon as it is visibly wrong, and no prefix
    /// of it is mistaken for a reply.
    @Test(arguments: garbage)
    func garbageIsMalformed(text: String) throws {
        let bytes = Array(text.utf8)
        let parsed = try #require(Self.parse(bytes), "\(text.prefix(40).debugDescription) was taken as incomplete")
        #expect(parsed.reply == .error(.other))
        #expect(parsed.consumed == RESPParser.malformed)
        for length in stride(from: 0, to: min(bytes.count, 64), by: 1) {
            if let early = Self.parse(Array(bytes[..<length])) {
                #expect(early.consumed == RESPParser.malformed, "prefix \(length): \(early)")
            }
        }
    }

    /// The real server's replies, pipelined in one read, split at every byte.
    @Test func theRealServersRepliesSplitAtEveryByte() async throws {
        try await RedisTesting.withServer("parser") { redis throws in
            let commands: [[String]] = [
                ["PING"],
                ["SET", "a", "12"],
                ["GET", "a"],
                ["GET", "missing"],
                ["INCRBY", "a", "-20"],
                ["NOSUCHCOMMAND"],
                ["EVALSHA", String(repeating: "0", count: 40), "0"],
                ["EVAL", "return {1, 'x', {2, {3}}, false}", "0"],
                ["EVAL", "return {tonumber(ARGV[1]), -2, '77', 4}", "0", "5"],
                ["LRANGE", "missing", "0", "-1"],
                ["HGETALL", "missing"],
            ]
            let expected: [RESPReply] = [
                .simple, .simple, .bulk(length: 2), .bulk(length: -1), .integer(-8), .error(.other),
                .error(.noScript), .array(count: 4), .integers(count: 4, first: 5, second: -2, third: 77),
                .array(count: 0), .array(count: 0),
            ]
            var request: [UInt8] = []
            for command in commands {
                request += Array("*\(command.count)\r\n".utf8)
                for argument in command { request += Array("$\(argument.utf8.count)\r\n\(argument)\r\n".utf8) }
            }
            let bytes = try await redis.exchange(request, replies: commands.count)
            var offset = 0
            var ends: [Int] = []
            for reply in expected {
                let parsed = try #require(Self.parse(Array(bytes[offset...])))
                #expect(parsed.reply == reply)
                offset += parsed.consumed
                ends.append(offset)
            }
            #expect(offset == bytes.count)
            // Fed as a worker receives it, in pieces: nothing parses before a reply's last byte has come.
            var start = 0
            for end in ends {
                for cut in start..<end {
                    #expect(Self.parse(Array(bytes[start..<cut])) == nil)
                }
                start = end
            }
        }
    }

    @Test func aServerWithAPasswordAnswersAuthenticationErrors() async throws {
        try await RedisTesting.withServer("parser-auth", password: "s3cret") { redis throws in
            let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
            let unauthenticated = try await redis.exchange(ping, authenticate: false)
            #expect(Self.parse(unauthenticated)?.reply == .error(.authentication))
            let wrong = try await redis.exchange(Array("*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n".utf8), authenticate: false)
            #expect(Self.parse(wrong)?.reply == .error(.authentication))
            #expect(Self.parse(try await redis.exchange(ping))?.reply == .simple)
        }
    }
}
