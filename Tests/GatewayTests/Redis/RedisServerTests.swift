import Foundation
import TestSupport
import Testing

/// The harness the integration tests start Redis with: it answers, dies when killed, and comes back empty
/// on the same port.
@Suite struct RedisServerTests {
    @Test func killedAndRestartedRedisComesBackEmptyOnTheSamePort() async throws {
        try await RedisTesting.withServer("harness", password: "pw") { redis throws in
            #expect(try await redis.command("SET", "k", "v") == .simple("OK"))
            #expect(try await redis.command("GET", "k") == .bulk("v"))
            #expect(try await redis.command(["HSET", "h", "a", "1", "b", "2"]) == .integer(2))
            #expect(try await redis.command("HMGET", "h", "a", "x") == .array([.bulk("1"), .bulk(nil)]))
            #expect(try await redis.command("NOSUCHCOMMAND").string?.hasPrefix("ERR unknown command") == true)
            let port = redis.port
            await redis.kill()
            #expect(!redis.isRunning)
            await #expect(throws: IntegrationError.self) { try await redis.command("PING") }
            try await redis.restart()
            #expect(redis.isRunning)
            #expect(redis.port == port)
            #expect(try await redis.command("GET", "k") == .bulk(nil))
            await redis.stop()
            #expect(!redis.isRunning)
        }
    }

    /// A suspended Redis accepts connections but answers nothing until resumed.
    @Test func aSuspendedRedisDoesNotAnswerUntilResumed() async throws {
        try await RedisTesting.withServer("suspend") { redis throws in
            #expect(await redis.ping())
            redis.suspend()
            #expect(!(await redis.ping(timeout: .milliseconds(300))))
            redis.resume()
            #expect(await redis.ping())
            redis.suspend()
            // Stopping a suspended Redis still ends it promptly.
            let started = ContinuousClock.now
            await redis.stop()
            #expect(!redis.isRunning)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    /// Servers started side by side each get their own port.
    @Test func serversStartedTogetherGetTheirOwnPorts() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("redis-many")
        defer { try? FileManager.default.removeItem(at: directory) }
        let servers = try await withThrowingTaskGroup(of: RedisServer.self) { group in
            for index in 0..<3 { group.addTask { try await RedisServer(name: "n\(index)", in: directory) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(servers.map(\.port)).count == 3)
        for (index, server) in servers.enumerated() { try await server.command("SET", "who", "\(index)") }
        for (index, server) in servers.enumerated() {
            #expect(try await server.command("GET", "who") == .bulk("\(index)"))
            await server.stop()
        }
    }
}
