import Dispatch
import TestSupport
import Testing

@testable import Gateway

/// The pieces together, as workers use them: concurrent pipelined connections share one exact limit, and
/// leases (`redis.batch`) spend it without admitting more.
@Suite struct RedisBatchTests {
    /// Four connections, each pipelining 40 calls of cost 3 in one write, against a limit of 100: the
    /// grants add up to exactly 100, because each call is atomic in Redis.
    @Test func concurrentPipelinedCallsGrantExactlyTheLimit() async throws {
        try await RedisTesting.withServer("batch-concurrent") { redis throws in
            #expect(
                try await redis.command(["SCRIPT", "LOAD", RedisScriptTests.text(RedisScript.limitCount.source)]).string
                    != nil
            )
            let calls = 40
            let cost: Int64 = 3
            var pipelined: [UInt8] = []
            for _ in 0..<calls {
                pipelined += RedisTesting.encode { writer in
                    writer.beginCommand(argumentCount: 7)
                    writer.argument("EVALSHA")
                    writer.argument(RedisScript.limitCount.sha1)
                    writer.argument(decimal: 1)
                    writer.argument("gw:lc:", hex: 0x5EED)
                    writer.argument(decimal: 100)
                    writer.argument(decimal: 60_000)
                    writer.argument(decimal: cost)
                }
            }
            let request = pipelined
            let answers = LockedValue<[[UInt8]]>([])
            let failures = LockedValue<[String]>([])
            // Four connections at once, each on a thread of its own (``blocking``).
            do {
                try await withThrowingTaskGroup(of: [UInt8].self) { group in
                    for _ in 0..<4 { group.addTask { try await redis.exchange(request, replies: calls) } }
                    for try await bytes in group { answers.withLock { $0.append(bytes) } }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
            #expect(failures.value.isEmpty, "\(failures.value)")
            var granted: Int64 = 0
            var replies = 0
            for bytes in answers.value {
                var offset = 0
                while offset < bytes.count {
                    let parsed = try #require(bytes[offset...].withUnsafeBytes { RESPParser.parse($0) })
                    #expect(parsed.consumed > 0)
                    let (remaining, ttl) = try RedisTesting.pair(parsed.reply)
                    #expect(ttl > 0 && ttl <= 60_000)
                    granted += min(max(remaining + cost, 0), cost)
                    offset += parsed.consumed
                    replies += 1
                }
            }
            #expect(replies == 4 * calls)
            #expect(granted == 100)
        }
    }

    /// Three workers, each with its own lease table, take leases of 10 from a limit of 95 in turn: the
    /// fleet admits exactly 95, with one Redis call per lease (the last one partial) instead of per request.
    @Test func leasesAdmitExactlyTheLimitAcrossWorkers() async throws {
        try await RedisTesting.withServer("batch-leases") { redis throws in
            let limit: Int64 = 95
            let batch: Int64 = 10
            let workers = (0..<3).map { _ in RedisLeaseTable(capacity: 64) }
            let key: UInt64 = 0xC0FFEE
            let now: UInt64 = 5_000_000_000
            var admitted = 0
            var leases = 0
            var lastRemaining: Int64 = .max
            for request in 0..<300 {
                let table = workers[request % workers.count]
                if let taken = table.take(key, now: now) {
                    admitted += 1
                    #expect(taken.remaining >= 0)
                    continue
                }
                let (remaining, ttl) = try await RedisTesting.pair(
                    RedisTesting.run(.limitCount, on: redis, key: "gw:lc:fleet", limit, 60_000, batch)
                )
                let granted = min(max(remaining + batch, 0), batch)
                guard granted > 0 else { continue }
                leases += 1
                admitted += 1
                // What this request reports: Redis's remainder plus the permits this worker still holds.
                let shown = max(remaining, 0) + granted - 1
                #expect(shown < lastRemaining)
                lastRemaining = shown
                table.store(
                    key,
                    permits: Int(granted - 1),
                    remaining: shown,
                    expiresAt: now + UInt64(ttl) * 1_000_000,
                    now: now
                )
            }
            #expect(admitted == 95)
            #expect(leases == 10)
        }
    }
}
