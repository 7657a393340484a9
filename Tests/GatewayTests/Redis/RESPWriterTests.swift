import Testing

@testable import Gateway

/// Commands come out byte for byte as RESP2, never past the caller's capacity, and Redis runs them.
@Suite struct RESPWriterTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func aCommandIsAnArrayOfBulkStrings() {
        let bytes = RedisTesting.encode { writer in
            writer.beginCommand(argumentCount: 3)
            writer.argument("INCRBY")
            Array("k:1".utf8).withUnsafeBytes { writer.argument($0) }
            writer.argument(decimal: -42)
        }
        #expect(Self.text(bytes) == "*3\r\n$6\r\nINCRBY\r\n$3\r\nk:1\r\n$3\r\n-42\r\n")
    }

    @Test(arguments: [
        (Int64(0), "0"), (7, "7"), (10, "10"), (-1, "-1"), (1_000_000, "1000000"),
        (Int64.max, "9223372036854775807"), (Int64.min, "-9223372036854775808"),
    ])
    func decimals(value: Int64, expected: String) {
        let bytes = RedisTesting.encode { $0.argument(decimal: value) }
        #expect(Self.text(bytes) == "$\(expected.utf8.count)\r\n\(expected)\r\n")
    }

    @Test func hexIsSixteenLowerCaseDigits() {
        let bytes = RedisTesting.encode { writer in
            writer.argument(hex: 1)
            writer.argument(hex: 0xDEAD_BEEF_0123_ABCD)
            writer.argument(hex: .max)
            writer.argument("gw:lc:", hex: 0x00FF)
        }
        #expect(
            Self.text(bytes)
                == "$16\r\n0000000000000001\r\n$16\r\ndeadbeef0123abcd\r\n$16\r\nffffffffffffffff\r\n"
                + "$22\r\ngw:lc:00000000000000ff\r\n"
        )
    }

    @Test func argumentsAreBinarySafeAndMayBeEmpty() {
        let bytes = RedisTesting.encode { writer in
            writer.beginCommand(argumentCount: 2)
            [UInt8]().withUnsafeBytes { writer.argument($0) }
            [UInt8]([13, 10, 0, 36]).withUnsafeBytes { writer.argument($0) }
        }
        #expect(bytes == Array("*2\r\n$0\r\n\r\n$4\r\n".utf8) + [13, 10, 0, 36, 13, 10])
    }

    @Test func writingAppendsAfterTheBytesAlreadyThere() {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { raw in
            raw.copyBytes(from: Array("*1\r\n$4\r\nPING\r\n".utf8))
            var writer = RESPWriter(buffer: raw.baseAddress!, capacity: raw.count, count: 14)
            writer.beginCommand(argumentCount: 1)
            writer.argument("PING")
            return writer.count
        }
        #expect(count == 28)
        #expect(Self.text(Array(buffer[..<count])) == "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n")
    }

    /// At every capacity short of the command, the writer overflows without writing past it; at the
    /// exact size it fits. A roll-back leaves the buffer as it was before the command.
    @Test func overflowNeverWritesPastTheCapacityAndRollsBack() {
        let expected = Array("*3\r\n$3\r\nSET\r\n$16\r\n00000000000000ab\r\n$5\r\n12345\r\n".utf8)
        for capacity in 0...expected.count {
            var buffer = [UInt8](repeating: 0xEE, count: expected.count + 8)
            let (count, overflowed, afterRollBack) = buffer.withUnsafeMutableBytes { raw in
                var writer = RESPWriter(buffer: raw.baseAddress!, capacity: capacity, count: 0)
                writer.beginCommand(argumentCount: 3)
                writer.argument("SET")
                writer.argument(hex: 0xAB)
                writer.argument(decimal: 12_345)
                let result = (writer.count, writer.overflowed)
                writer.rollBack(to: 0)
                return (result.0, result.1, (writer.count, writer.overflowed))
            }
            #expect(buffer[capacity...].allSatisfy { $0 == 0xEE }, "wrote past capacity \(capacity)")
            #expect(afterRollBack == (0, false))
            if capacity < expected.count {
                #expect(overflowed, "capacity \(capacity)")
                #expect(count <= capacity)
            } else {
                #expect(!overflowed)
                #expect(Array(buffer[..<count]) == expected)
            }
        }
    }

    @Test func anOverflowedWriterSkipsLaterPiecesThatWouldFit() {
        var buffer = [UInt8](repeating: 0, count: 32)
        buffer.withUnsafeMutableBytes { raw in
            var writer = RESPWriter(buffer: raw.baseAddress!, capacity: 20, count: 0)
            writer.beginCommand(argumentCount: 2)
            writer.argument(hex: 1)  // 22 bytes: does not fit
            let stopped = writer.count
            writer.argument("A")  // would fit, but the command is already broken
            #expect(writer.overflowed)
            #expect(writer.count == stopped)
            writer.rollBack(to: 0)
            writer.beginCommand(argumentCount: 1)
            writer.argument("PING")
            #expect(!writer.overflowed)
            #expect(writer.count == 14)
        }
    }

    @Test func pendingArgumentsCountsDownToAWholeCommand() {
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { raw in
            var writer = RESPWriter(buffer: raw.baseAddress!, capacity: raw.count, count: 0)
            #expect(writer.pendingArguments == 0)
            writer.beginCommand(argumentCount: 3)
            writer.argument("GET")
            #expect(writer.pendingArguments == 2)
            writer.argument("gw:", hex: 1)
            writer.argument(decimal: 5)
            #expect(writer.pendingArguments == 0)
            writer.beginCommand(argumentCount: 2)
            writer.rollBack(to: 0)
            #expect(writer.pendingArguments == 0)
        }
    }

    @Test func redisRunsWhatTheWriterWrote() async throws {
        try await RedisTesting.withServer("writer") { redis throws in
            let everyByte = (0...255).map { UInt8($0) }
            let set = RedisTesting.encode { writer in
                writer.beginCommand(argumentCount: 3)
                writer.argument("SET")
                writer.argument("gw:", hex: 0xABC)
                everyByte.withUnsafeBytes { writer.argument($0) }
            }
            #expect(try await RedisTesting.reply(redis, set) == .simple)
            #expect(try await redis.command("STRLEN", "gw:0000000000000abc") == .integer(256))
            let incr = RedisTesting.encode { writer in
                writer.beginCommand(argumentCount: 3)
                writer.argument("INCRBY")
                writer.argument(hex: 7)
                writer.argument(decimal: -9_000_000_000)
            }
            #expect(try await RedisTesting.reply(redis, incr) == .integer(-9_000_000_000))
            #expect(try await redis.command("GET", "0000000000000007") == .bulk("-9000000000"))
        }
    }
}
