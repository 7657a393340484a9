import Crypto
import Foundation
import TestSupport
import Testing

@testable import Gateway

/// The rate-limit scripts on a real redis-server: their SHA1s, limit-count's fixed window and limit-req's
/// leaky bucket.
@Suite struct RedisScriptTests {
    static func text(_ string: StaticString) -> String {
        string.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: [("limitCount", RedisScript.limitCount), ("limitRequest", RedisScript.limitRequest)])
    func theSHA1IsTheSourcesAsRedisAndSwiftCryptoComputeIt(name: String, script: RedisScript) async throws {
        let source = script.source.withUTF8Buffer { Array($0) }
        let digest = Insecure.SHA1.hash(data: source).map { String(format: "%02x", $0) }.joined()
        #expect(Self.text(script.sha1) == digest, "\(name)")
        try await RedisTesting.withServer("sha1-\(name)") { redis throws in
            #expect(
                try await redis.command("SCRIPT", "LOAD", Self.text(script.source)) == .bulk(Self.text(script.sha1))
            )
        }
    }

    // MARK: - limit-count

    @Test func limitCountStartsAWindowWithTheFirstRequestAndCountsDown() async throws {
        try await RedisTesting.withServer("limit-count") { redis throws in
            let (first, ttl) = try await RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "c", 5, 60_000, 1)
            )
            #expect(first == 4)
            #expect(ttl == 60_000)
            let pttl = try #require(try await redis.command("PTTL", "c").integer)
            #expect(pttl > 0 && pttl <= 60_000)
            #expect(try await redis.command("GET", "c") == .bulk("4"))
            let (second, remainingTTL) = try await RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "c", 5, 60_000, 1)
            )
            #expect(second == 3)
            #expect(remainingTTL > 0 && remainingTTL <= 60_000)
        }
    }

    /// `cost` takes several permits at once; past the limit the counter keeps falling (as APISIX's does),
    /// and the caller's grant `clamp(remaining + cost, 0, cost)` gives out exactly the limit.
    @Test func limitCountTakesCostPermitsAndGrantsAPartialLastBatch() async throws {
        try await RedisTesting.withServer("limit-count-cost") { redis throws in
            var granted: Int64 = 0
            var remainders: [Int64] = []
            for _ in 0..<4 {
                let (remaining, _) = try await RedisTesting.pair(
                    RedisTesting.run(.limitCount, on: redis, key: "batch", 10, 60_000, 4)
                )
                remainders.append(remaining)
                granted += min(max(remaining + 4, 0), 4)
            }
            #expect(remainders == [6, 2, -2, -6])
            #expect(granted == 10)
            let (single, _) = try await RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "batch", 10, 60_000, 1)
            )
            #expect(single == -7)
        }
    }

    @Test func limitCountRejectsACostBelowOne() async throws {
        try await RedisTesting.withServer("limit-count-zero") { redis throws in
            #expect(try await RedisTesting.run(.limitCount, on: redis, key: "z", 10, 1_000, 0) == .error(.other))
            #expect(try await redis.command("EXISTS", "z") == .integer(0))
        }
    }

    /// When the window's TTL runs out the next request opens a new full window.
    @Test func limitCountOpensANewWindowWhenTheOldOneExpires() async throws {
        try await RedisTesting.withServer("limit-count-window") { redis throws in
            // A 3 s window: the four calls fit in it even when a loaded machine holds the test up.
            for _ in 0..<3 { _ = try await RedisTesting.run(.limitCount, on: redis, key: "w", 2, 3_000, 1) }
            let (exhausted, _) = try await RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "w", 2, 3_000, 1)
            )
            #expect(exhausted <= -2)
            var fresh: (Int64, Int64) = (0, 0)
            let reset = try await eventually(timeout: .seconds(10), interval: .milliseconds(50)) {
                fresh = try await RedisTesting.pair(RedisTesting.run(.limitCount, on: redis, key: "w", 2, 3_000, 1))
                return fresh.0 == 1
            }
            #expect(reset)
            #expect(fresh.1 == 3_000)
        }
    }

    /// A key left without an expiry (not by this script) is treated as a new window rather than counted
    /// forever.
    @Test func limitCountRestartsAKeyWithoutExpiry() async throws {
        try await RedisTesting.withServer("limit-count-persist") { redis throws in
            try await redis.command("SET", "p", "-100")
            let (remaining, ttl) = try await RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "p", 3, 5_000, 1)
            )
            #expect(remaining == 2)
            #expect(ttl == 5_000)
        }
    }

    // MARK: - limit-req

    /// rate 0.01 r/s (10 milli-requests a second drain: nothing noticeable during the test), burst 2: the
    /// first request has no excess, each next adds 1000, and the one that would exceed 2000 is rejected
    /// without changing the bucket.
    @Test func limitRequestAdmitsUpToTheBurstThenRejects() async throws {
        try await RedisTesting.withServer("limit-req") { redis throws in
            let run = { try await RedisTesting.pair(RedisTesting.run(.limitRequest, on: redis, key: "b", 10, 2_000)) }
            let (admitted1, excess1) = try await run()
            #expect(admitted1 == 1)
            #expect(excess1 == 0)
            let (admitted2, excess2) = try await run()
            #expect(admitted2 == 1)
            // Lower bounds allow for a loaded machine's pauses between calls (10 a second drain).
            #expect(excess2 > 600 && excess2 <= 1_000)
            let (admitted3, excess3) = try await run()
            #expect(admitted3 == 1)
            #expect(excess3 > 1_600 && excess3 <= 2_000)
            let before = try await redis.command("HGETALL", "b")
            let (admitted4, excess4) = try await run()
            #expect(admitted4 == 0)
            #expect(excess4 > 1_300 && excess4 <= 2_000)
            #expect(try await redis.command("HGETALL", "b") == before)
        }
    }

    /// rate 0.2 r/s, burst 0: a second request is rejected until 5 s after the first, then admitted (5 s, so
    /// that a loaded machine's pauses between calls do not let the bucket drain before the first rejection).
    @Test func limitRequestAdmitsAgainOnceTheExcessHasDrained() async throws {
        try await RedisTesting.withServer("limit-req-drain") { redis throws in
            let started = ContinuousClock.now
            let (first, _) = try await RedisTesting.pair(RedisTesting.run(.limitRequest, on: redis, key: "d", 200, 0))
            #expect(first == 1)
            var rejections = 0
            var lastExcess: Int64 = .max
            var falling = true
            let admitted = try await eventually(timeout: .seconds(40), interval: .milliseconds(100)) {
                let (admitted, excess) = try await RedisTesting.pair(
                    RedisTesting.run(.limitRequest, on: redis, key: "d", 200, 0)
                )
                if admitted == 1 { return true }
                rejections += 1
                // A rejected request leaves the bucket alone: what it reports only drains.
                falling = falling && excess <= lastExcess
                lastExcess = excess
                return false
            }
            #expect(admitted)
            #expect(falling)
            #expect(rejections > 0)
            // 1 / rate is 5 s; Redis's clock counts whole milliseconds, so allow a few.
            #expect(ContinuousClock.now - started >= .milliseconds(4_990))
        }
    }

    /// A fractional rate (0.15 r/s as 150) drains 0.15 milli-requests a millisecond; the delay a caller
    /// derives, excess / rate, is the nginx one.
    @Test func limitRequestWithAFractionalRateDrainsProportionally() async throws {
        try await RedisTesting.withServer("limit-req-fraction") { redis throws in
            // The bucket lives (1000 + excess) / rate: over 6 s, so a loaded machine still reads it.
            _ = try await RedisTesting.run(.limitRequest, on: redis, key: "f", 150, 10_000)
            let last = try #require(try await redis.command("HGET", "f", "last").integer)
            let (admitted, excess) = try await RedisTesting.pair(
                RedisTesting.run(.limitRequest, on: redis, key: "f", 150, 10_000)
            )
            let now = try #require(try await redis.command("HGET", "f", "last").integer)
            #expect(admitted == 1)
            let drained = Double(now - last) * 0.15
            #expect(abs(Double(excess) - max(1_000 - drained, 0)) <= 1)
        }
    }

    /// The bucket expires once it has drained to where a missing bucket starts: the next request then
    /// sees no excess, as it would have with the bucket kept.
    @Test func limitRequestBucketsExpireOnceDrained() async throws {
        try await RedisTesting.withServer("limit-req-expire") { redis throws in
            // rate 0.5 r/s, burst 10: 3 requests leave up to ~2000 excess, drained in up to ~4 s, plus 2 s for
            // the request itself (long enough for a loaded machine to read the TTL before it runs out).
            var excess: Int64 = 0
            for _ in 0..<3 {
                (_, excess) = try await RedisTesting.pair(
                    RedisTesting.run(.limitRequest, on: redis, key: "e", 500, 10_000)
                )
            }
            let pttl = try #require(try await redis.command("PTTL", "e").integer)
            #expect(pttl > 0 && pttl <= (excess + 1_000) * 1_000 / 500 + 1)
            let gone = try await eventually(timeout: .seconds(30), interval: .milliseconds(50)) {
                try await redis.command("EXISTS", "e") == .integer(0)
            }
            #expect(gone)
            let (admitted, after) = try await RedisTesting.pair(
                RedisTesting.run(.limitRequest, on: redis, key: "e", 500, 10_000)
            )
            #expect(admitted == 1)
            #expect(after == 0)
        }
    }
}
