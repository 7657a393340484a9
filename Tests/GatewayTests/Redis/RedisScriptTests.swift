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
            #expect(try redis.command("SCRIPT", "LOAD", Self.text(script.source)) == .bulk(Self.text(script.sha1)))
        }
    }

    // MARK: - limit-count

    @Test func limitCountStartsAWindowWithTheFirstRequestAndCountsDown() async throws {
        try await RedisTesting.withServer("limit-count") { redis throws in
            let (first, ttl) = try RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "c", 5, 60_000, 1)
            )
            #expect(first == 4)
            #expect(ttl == 60_000)
            let pttl = try #require(try redis.command("PTTL", "c").integer)
            #expect(pttl > 0 && pttl <= 60_000)
            #expect(try redis.command("GET", "c") == .bulk("4"))
            let (second, remainingTTL) = try RedisTesting.pair(
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
                let (remaining, _) = try RedisTesting.pair(
                    RedisTesting.run(.limitCount, on: redis, key: "batch", 10, 60_000, 4)
                )
                remainders.append(remaining)
                granted += min(max(remaining + 4, 0), 4)
            }
            #expect(remainders == [6, 2, -2, -6])
            #expect(granted == 10)
            let (single, _) = try RedisTesting.pair(
                RedisTesting.run(.limitCount, on: redis, key: "batch", 10, 60_000, 1)
            )
            #expect(single == -7)
        }
    }

    @Test func limitCountRejectsACostBelowOne() async throws {
        try await RedisTesting.withServer("limit-count-zero") { redis throws in
            #expect(try RedisTesting.run(.limitCount, on: redis, key: "z", 10, 1_000, 0) == .error(.other))
            #expect(try redis.command("EXISTS", "z") == .integer(0))
        }
    }

    /// When the window's TTL runs out the next request opens a new full window.
    @Test func limitCountOpensANewWindowWhenTheOldOneExpires() async throws {
        try await RedisTesting.withServer("limit-count-window") { redis throws in
            for _ in 0..<3 { _ = try RedisTesting.run(.limitCount, on: redis, key: "w", 2, 300, 1) }
            let (exhausted, _) = try RedisTesting.pair(RedisTesting.run(.limitCount, on: redis, key: "w", 2, 300, 1))
            #expect(exhausted <= -2)
            var fresh: (Int64, Int64) = (0, 0)
            let reset = try await eventually(timeout: .seconds(10), interval: .milliseconds(50)) {
                fresh = try RedisTesting.pair(RedisTesting.run(.limitCount, on: redis, key: "w", 2, 300, 1))
                return fresh.0 == 1
            }
            #expect(reset)
            #expect(fresh.1 == 300)
        }
    }

    /// A key left without an expiry (not by this script) is treated as a new window rather than counted
    /// forever.
    @Test func limitCountRestartsAKeyWithoutExpiry() async throws {
        try await RedisTesting.withServer("limit-count-persist") { redis throws in
            try redis.command("SET", "p", "-100")
            let (remaining, ttl) = try RedisTesting.pair(
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
            let run = { try RedisTesting.pair(RedisTesting.run(.limitRequest, on: redis, key: "b", 10, 2_000)) }
            let (admitted1, excess1) = try run()
            #expect(admitted1 == 1)
            #expect(excess1 == 0)
            let (admitted2, excess2) = try run()
            #expect(admitted2 == 1)
            #expect(excess2 > 900 && excess2 <= 1_000)
            let (admitted3, excess3) = try run()
            #expect(admitted3 == 1)
            #expect(excess3 > 1_900 && excess3 <= 2_000)
            let before = try redis.command("HGETALL", "b")
            let (admitted4, excess4) = try run()
            #expect(admitted4 == 0)
            #expect(excess4 > 1_800 && excess4 <= 2_000)
            #expect(try redis.command("HGETALL", "b") == before)
        }
    }

    /// rate 0.5 r/s, burst 0: a second request is rejected until 2 s after the first, then admitted.
    @Test func limitRequestAdmitsAgainOnceTheExcessHasDrained() async throws {
        try await RedisTesting.withServer("limit-req-drain") { redis throws in
            let started = ContinuousClock.now
            let (first, _) = try RedisTesting.pair(RedisTesting.run(.limitRequest, on: redis, key: "d", 500, 0))
            #expect(first == 1)
            var rejections = 0
            var lastExcess: Int64 = .max
            var falling = true
            let admitted = try await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                let (admitted, excess) = try RedisTesting.pair(
                    RedisTesting.run(.limitRequest, on: redis, key: "d", 500, 0)
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
            // 1 / rate is 2 s; Redis's clock counts whole milliseconds, so allow a few.
            #expect(ContinuousClock.now - started >= .milliseconds(1_990))
        }
    }

    /// A fractional rate (1.5 r/s as 1500) drains 1.5 milli-requests a millisecond; the delay a caller
    /// derives, excess / rate, is the nginx one.
    @Test func limitRequestWithAFractionalRateDrainsProportionally() async throws {
        try await RedisTesting.withServer("limit-req-fraction") { redis throws in
            _ = try RedisTesting.run(.limitRequest, on: redis, key: "f", 1_500, 10_000)
            let last = try #require(try redis.command("HGET", "f", "last").integer)
            let (admitted, excess) = try RedisTesting.pair(
                RedisTesting.run(.limitRequest, on: redis, key: "f", 1_500, 10_000)
            )
            let now = try #require(try redis.command("HGET", "f", "last").integer)
            #expect(admitted == 1)
            let drained = Double(now - last) * 1.5
            #expect(abs(Double(excess) - max(1_000 - drained, 0)) <= 1)
        }
    }

    /// The bucket expires once it has drained to where a missing bucket starts: the next request then
    /// sees no excess, as it would have with the bucket kept.
    @Test func limitRequestBucketsExpireOnceDrained() async throws {
        try await RedisTesting.withServer("limit-req-expire") { redis throws in
            // rate 5 r/s, burst 10: 3 quick requests leave ~2000 excess, drained in ~0.4 s, plus 0.2 s for
            // the request itself.
            var excess: Int64 = 0
            for _ in 0..<3 {
                (_, excess) = try RedisTesting.pair(RedisTesting.run(.limitRequest, on: redis, key: "e", 5_000, 10_000))
            }
            let pttl = try #require(try redis.command("PTTL", "e").integer)
            #expect(pttl > 0 && pttl <= (excess + 1_000) * 1_000 / 5_000 + 1)
            let gone = try await eventually(timeout: .seconds(10), interval: .milliseconds(50)) {
                try redis.command("EXISTS", "e") == .integer(0)
            }
            #expect(gone)
            let (admitted, after) = try RedisTesting.pair(
                RedisTesting.run(.limitRequest, on: redis, key: "e", 5_000, 10_000)
            )
            #expect(admitted == 1)
            #expect(after == 0)
        }
    }
}
