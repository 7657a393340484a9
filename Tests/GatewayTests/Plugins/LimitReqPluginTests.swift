import AccessLog
import Testing

@testable import Gateway

@Suite("limit-req plugin")
struct LimitReqPluginTests {
    private static let millisecond: UInt64 = 1_000_000
    private static let start: UInt64 = 1_000_000 * millisecond

    /// The verdict of `access` for a GET from `peer` at `start` + `offset` milliseconds.
    private func access(
        _ harness: PluginHarness,
        _ plugin: any GatewayPlugin,
        at offset: UInt64 = 0,
        peer: (UInt8, UInt8, UInt8, UInt8) = (10, 0, 0, 1)
    ) -> PluginVerdict {
        harness.begin(
            "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            now: Self.start + offset * Self.millisecond,
            peer: ClientAddress(ipv4: peer)
        )
        return harness.run(plugin, .access)
    }

    /// The delay `verdict` asks for, 0 for `.proceed`, nil otherwise.
    private func delay(_ verdict: PluginVerdict) -> UInt64? {
        switch verdict {
        case .proceed: return 0
        case .delay(let nanoseconds): return nanoseconds
        default: return nil
        }
    }

    @Test("rate, burst and key are required; rate must be positive; key_type has no constant")
    func configErrors() {
        let path = "routes[0].plugins.limit-req"
        let missing = PluginHarness.issues("limit-req", "{}")
        #expect(Set(missing.map(\.path)) == ["\(path).rate", "\(path).burst", "\(path).key"])
        let zero = PluginHarness.issues("limit-req", "{rate: 0, burst: 1, key: remote_addr}")
        #expect(zero.map(\.path) == ["\(path).rate"])
        #expect(zero.first?.reason == "must be greater than 0")
        #expect(
            PluginHarness.issues("limit-req", "{rate: 1, burst: -1, key: remote_addr}").map(\.path) == ["\(path).burst"]
        )
        #expect(
            PluginHarness.issues("limit-req", "{rate: 1, burst: 1, key_type: constant, key: x}").map(\.path) == [
                "\(path).key_type"
            ]
        )
        #expect(PluginHarness.issues("limit-req", "{rate: 1, burst: 1, key: nope}").map(\.path) == ["\(path).key"])
        let redis = PluginHarness.issues("limit-req", "{rate: 1, burst: 1, key: remote_addr, policy: redis}")
        #expect(redis.map(\.path) == ["\(path).redis_host"])
        #expect(
            PluginHarness.issues(
                "limit-req",
                "{rate: 1, burst: 1, key: remote_addr, policy: redis, redis: {host: 127.0.0.1}}"
            ).isEmpty
        )
        // Leases fit a fixed window's count, not a bucket that drains continuously.
        #expect(
            PluginHarness.issues(
                "limit-req",
                "{rate: 1, burst: 1, key: remote_addr, policy: redis, redis: {host: 127.0.0.1, batch: 5}}"
            ).map(\.path) == ["\(path).redis.batch"]
        )
        #expect(PluginHarness.issues("limit-req", "{rate: 0.5, burst: 2.5, key: remote_addr, nodelay: true}").isEmpty)
    }

    @Test("excess above the rate waits excess/rate seconds; beyond burst is rejected with 429")
    func delaysAndRejects() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("limit-req", "{rate: 1, burst: 2, key: remote_addr}")
        #expect(delay(access(harness, plugin)) == 0)
        #expect(delay(access(harness, plugin)) == 1_000_000_000)
        #expect(delay(access(harness, plugin)) == 2_000_000_000)
        let rejected = access(harness, plugin)
        #expect(rejected.rejection?.status == 429)
        #expect(rejected.rejection?.message == "Too Many Requests")
        // Another client has its own bucket.
        #expect(delay(access(harness, plugin, peer: (10, 0, 0, 2))) == 0)
        // One second drains one request: excess 2 - 1 + 1.
        #expect(delay(access(harness, plugin, at: 1000)) == 2_000_000_000)
        // Half a second later: 2 - 0.5 + 1 = 2.5 is beyond the burst.
        #expect(access(harness, plugin, at: 1500).rejection != nil)
        // Long idle: the bucket is empty again.
        #expect(delay(access(harness, plugin, at: 60_000)) == 0)
    }

    @Test("nodelay lets the burst through at once")
    func nodelay() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile(
            "limit-req",
            "{rate: 2, burst: 1, key: remote_addr, nodelay: true, rejected_code: 503, rejected_msg: slow}"
        )
        #expect(access(harness, plugin).proceeds)
        #expect(access(harness, plugin).proceeds)
        let rejected = access(harness, plugin)
        #expect(rejected.rejection?.status == 503)
        #expect(rejected.rejection?.message == "slow")
    }

    @Test("burst 0 admits one request per 1/rate seconds")
    func noBurst() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("limit-req", "{rate: 10, burst: 0, key: remote_addr}")
        #expect(access(harness, plugin).proceeds)
        #expect(access(harness, plugin, at: 50).rejection != nil)
        #expect(delay(access(harness, plugin, at: 100)) == 0)
        #expect(access(harness, plugin, at: 199).rejection != nil)
        #expect(delay(access(harness, plugin, at: 200)) == 0)
    }

    @Test("fractional rates and a short delay under 1 ms proceed at once")
    func fractions() throws {
        let harness = PluginHarness()
        let slow = try harness.compile("limit-req", "{rate: 0.5, burst: 1, key: remote_addr}")
        #expect(delay(access(harness, slow)) == 0)
        #expect(delay(access(harness, slow)) == 2_000_000_000)
        #expect(access(harness, slow).rejection != nil)
        let fast = try harness.compile("limit-req", "{rate: 5000, burst: 10, key: remote_addr}")
        #expect(delay(access(harness, fast)) == 0)
        // Excess 1 at 5000/s is 0.2 ms: not worth a timer.
        #expect(access(harness, fast).proceeds)
        #expect(delay(access(harness, fast)) == 0)
        #expect(delay(access(harness, fast)) == 0)
        #expect(delay(access(harness, fast)) == 0)
        // Excess 5 is 1 ms.
        #expect(delay(access(harness, fast)) == 1_000_000)
    }

    @Test("workers share the bucket")
    func sharedAcrossWorkers() throws {
        let shared = PluginSharedState()
        let first = PluginHarness(worker: 0)
        let second = PluginHarness(worker: 1)
        let settings = "{rate: 1, burst: 1, key: remote_addr, nodelay: true}"
        let one = try first.compile("limit-req", settings, shared: shared, workers: 2)
        let other = try second.compile("limit-req", settings, shared: shared, workers: 2)
        #expect(access(first, one).proceeds)
        #expect(access(second, other).proceeds)
        #expect(access(first, one).rejection != nil)
        #expect(access(second, other).rejection != nil)
    }
}
