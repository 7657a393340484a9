import Foundation
import TestSupport

@testable import Gateway

/// A real Redis for one test, and the gateway's own encoder and parser talking to it.
enum RedisTesting {
    /// Runs `body` with a fresh redis-server (its files in a temporary directory), stopped afterwards.
    static func withServer(
        _ label: String,
        password: String? = nil,
        _ body: (RedisServer) async throws -> Void
    ) async throws {
        // The scripts' windows and buckets run on Redis's clock: these tests take turns with the other
        // timing-sensitive ones.
        try await timingSensitive {
            let directory = try TestFiles.makeTemporaryDirectory("redis-\(label)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let server = try await RedisServer(name: label, password: password, in: directory)
            do {
                try await body(server)
                await server.stop()
            } catch {
                await server.stop()
                throw error
            }
        }
    }

    /// One command encoded by ``RESPWriter`` (the arguments: a `StaticString` name, then the rest as
    /// bytes or decimal integers), sent as is, and its reply read by ``RESPParser``.
    static func encode(_ build: (inout RESPWriter) -> Void) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64 * 1024)
        let count = bytes.withUnsafeMutableBytes { buffer in
            var writer = RESPWriter(buffer: buffer.baseAddress!, capacity: buffer.count, count: 0)
            build(&writer)
            precondition(!writer.overflowed)
            return writer.count
        }
        return Array(bytes[..<count])
    }

    /// The reply to `request` as ``RESPParser`` reads the server's bytes; it must use them all.
    static func reply(_ server: RedisServer, _ request: [UInt8]) async throws -> RESPReply {
        let bytes = try await server.exchange(request)
        let parsed = bytes.withUnsafeBytes { RESPParser.parse($0) }
        guard let parsed, parsed.consumed == bytes.count else {
            throw IntegrationError("RESPParser read \(String(describing: parsed)) of \(bytes.count) bytes")
        }
        return parsed.reply
    }

    /// Runs `script` the way a worker does: `EVALSHA`, and on `NOSCRIPT` the same as `EVAL`.
    static func run(
        _ script: RedisScript,
        on server: RedisServer,
        key: String,
        _ arguments: Int64...
    ) async throws -> RESPReply {
        func request(_ name: StaticString, _ body: StaticString) -> [UInt8] {
            encode { writer in
                writer.beginCommand(argumentCount: 4 + arguments.count)
                writer.argument(name)
                writer.argument(body)
                writer.argument(decimal: 1)
                Array(key.utf8).withUnsafeBytes { writer.argument($0) }
                for argument in arguments { writer.argument(decimal: argument) }
            }
        }
        let reply = try await self.reply(server, request("EVALSHA", script.sha1))
        if reply == .error(.noScript) { return try await self.reply(server, request("EVAL", script.source)) }
        return reply
    }

    /// The first two integers of an ``RESPReply/integers(count:first:second:third:)`` reply of two.
    static func pair(_ reply: RESPReply) throws -> (Int64, Int64) {
        guard case .integers(2, let first, let second, _) = reply else {
            throw IntegrationError("expected two integers, got \(reply)")
        }
        return (first, second)
    }
}
