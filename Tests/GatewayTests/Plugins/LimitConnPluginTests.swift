import AccessLog
import Dispatch
import Synchronization
import Testing

@testable import Gateway

@Suite("limit-conn plugin")
struct LimitConnPluginTests {
    private static let millisecond: UInt64 = 1_000_000
    private static let start: UInt64 = 1_000_000 * millisecond

    /// Starts a request on `harness` from `peer` at `start` + `offset` ms and runs `access`.
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

    /// Ends the request on `harness` at `start` + `offset` ms and runs `log`.
    private func finish(_ harness: PluginHarness, _ plugin: any GatewayPlugin, at offset: UInt64 = 0) {
        harness.respond(status: 200, now: Self.start + offset * Self.millisecond)
        _ = harness.run(plugin, .log)
    }

    /// The delay `verdict` asks for, 0 for `.proceed`, nil otherwise.
    private func delay(_ verdict: PluginVerdict) -> UInt64? {
        switch verdict {
        case .proceed: return 0
        case .delay(let nanoseconds): return nanoseconds
        default: return nil
        }
    }

    @Test("conn, burst, default_conn_delay and key are required and checked")
    func configErrors() {
        let path = "routes[0].plugins.limit-conn"
        let missing = PluginHarness.issues("limit-conn", "{}")
        #expect(
            Set(missing.map(\.path)) == ["\(path).conn", "\(path).burst", "\(path).default_conn_delay", "\(path).key"]
        )
        #expect(
            PluginHarness.issues("limit-conn", "{conn: 0, burst: 0, default_conn_delay: 1, key: remote_addr}").map(
                \.path
            )
                == ["\(path).conn"]
        )
        #expect(
            PluginHarness.issues("limit-conn", "{conn: 1, burst: 0, default_conn_delay: 0, key: remote_addr}").map(
                \.path
            )
                == ["\(path).default_conn_delay"]
        )
        let redis = PluginHarness.issues(
            "limit-conn",
            "{conn: 1, burst: 0, default_conn_delay: 1, key: remote_addr, policy: redis-cluster}"
        )
        #expect(redis.map(\.path) == ["\(path).policy"])
        #expect(
            PluginHarness.issues("limit-conn", "{conn: 1, burst: 0, default_conn_delay: 0.1, key: http_x_user}").isEmpty
        )
    }

    @Test("conn requests pass, the burst waits, beyond is rejected; log gives places back")
    func acquireAndRelease() throws {
        let harnesses = (0..<5).map { _ in PluginHarness() }
        let plugin = try harnesses[0].compile(
            "limit-conn",
            "{conn: 2, burst: 1, default_conn_delay: 0.5, only_use_default_delay: true, key: remote_addr}"
        )
        #expect(delay(access(harnesses[0], plugin)) == 0)
        #expect(delay(access(harnesses[1], plugin)) == 0)
        // The third is in the burst: one unit, ⌊(3 - 1) / 2⌋ = 1.
        #expect(delay(access(harnesses[2], plugin)) == 500_000_000)
        let rejected = access(harnesses[3], plugin)
        #expect(rejected.rejection?.status == 429)
        #expect(rejected.rejection?.message == "Too Many Requests")
        // Another client has its own count.
        #expect(delay(access(harnesses[4], plugin, peer: (10, 0, 0, 2))) == 0)
        // The rejected request gives nothing back; a finished one does.
        finish(harnesses[3], plugin)
        #expect(access(harnesses[3], plugin).rejection != nil)
        finish(harnesses[0], plugin, at: 100)
        #expect(delay(access(harnesses[0], plugin, at: 100)) == 500_000_000)
        for harness in harnesses { finish(harness, plugin, at: 200) }
        #expect(delay(access(harnesses[0], plugin, at: 300)) == 0)
        #expect(delay(access(harnesses[1], plugin, at: 300)) == 0)
        #expect(delay(access(harnesses[2], plugin, at: 300)) == 500_000_000)
        #expect(access(harnesses[3], plugin, at: 300).rejection != nil)
    }

    @Test("the count never goes below zero: repeated or foreign logs give nothing back")
    func neverNegative() throws {
        let harnesses = (0..<3).map { _ in PluginHarness() }
        let plugin = try harnesses[0].compile(
            "limit-conn",
            "{conn: 1, burst: 0, default_conn_delay: 1, only_use_default_delay: true, key: remote_addr}"
        )
        // Logs without an access, twice after one, and from another instance's table.
        finish(harnesses[0], plugin)
        #expect(access(harnesses[0], plugin).proceeds)
        finish(harnesses[0], plugin)
        finish(harnesses[0], plugin)
        let other = try harnesses[1].compile(
            "limit-conn",
            "{conn: 1, burst: 0, default_conn_delay: 1, only_use_default_delay: true, key: remote_addr}"
        )
        #expect(access(harnesses[1], other).proceeds)
        finish(harnesses[1], plugin)
        // Exactly one place: the first takes it, the second is rejected.
        #expect(access(harnesses[0], plugin).proceeds)
        #expect(access(harnesses[2], plugin).rejection != nil)
        // The foreign log did not release `other`'s place either.
        #expect(access(harnesses[2], other).rejection != nil)
    }

    @Test("without only_use_default_delay the unit follows the requests' latency")
    func adaptiveDelay() throws {
        let harnesses = (0..<4).map { _ in PluginHarness() }
        let plugin = try harnesses[0].compile(
            "limit-conn",
            "{conn: 1, burst: 2, default_conn_delay: 0.5, key: remote_addr}"
        )
        #expect(delay(access(harnesses[0], plugin)) == 0)
        #expect(delay(access(harnesses[1], plugin)) == 500_000_000)
        // ⌊(3 - 1) / 1⌋ = 2 units.
        #expect(delay(access(harnesses[2], plugin)) == 1_000_000_000)
        // The first took 100 ms: the unit becomes (0.5 + 0.1) / 2 = 0.3 s.
        finish(harnesses[0], plugin, at: 100)
        #expect(delay(access(harnesses[3], plugin, at: 100)) == 600_000_000)
        // The second's time counts from the end of its 500 ms wait: 200 ms, so the unit becomes 0.25 s.
        finish(harnesses[1], plugin, at: 700)
        #expect(delay(access(harnesses[0], plugin, at: 700)) == 500_000_000)
    }

    @Test("a second limit-conn on the request checks its limit without holding a place")
    func twoInstancesOneRequest() throws {
        let harnesses = (0..<2).map { _ in PluginHarness() }
        let settings = "{conn: 1, burst: 0, default_conn_delay: 1, only_use_default_delay: true, key: remote_addr}"
        let global = try harnesses[0].compile("limit-conn", settings, scope: .globalRule("g"))
        let route = try harnesses[0].compile("limit-conn", settings, scope: .route("r"))
        #expect(access(harnesses[0], global).proceeds)
        #expect(harnesses[0].run(route, .access).proceeds)
        // The route's place was not taken: another request gets it, and the global one is full.
        #expect(access(harnesses[1], route).proceeds)
        #expect(harnesses[1].run(global, .access).rejection != nil)
        harnesses[0].respond(status: 200)
        _ = harnesses[0].run(global, .log)
        _ = harnesses[0].run(route, .log)
        // The global place is back; the route's is still held by the second request.
        #expect(access(harnesses[0], global).proceeds)
        #expect(access(harnesses[0], route).rejection != nil)
    }

    @Test("threads taking and giving back places leave the count at zero")
    func concurrentBalance() throws {
        let threads = 4
        let harnesses = (0..<threads).map { PluginHarness(worker: $0) }
        let plugin = try harnesses[0].compile(
            "limit-conn",
            "{conn: 2, burst: 1, default_conn_delay: 0.001, only_use_default_delay: true, key: remote_addr}",
            shared: PluginSharedState(),
            workers: threads
        )
        let rejected = Atomic<Int>(0)
        let box = LimitTestBox(harnesses)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let harness = box.value[thread]
            for _ in 0..<2000 {
                harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", now: Self.start)
                if harness.run(plugin, .access).rejection != nil { rejected.add(1, ordering: .relaxed) }
                harness.respond(status: 200, now: Self.start)
                _ = harness.run(plugin, .log)
            }
        }
        // Four threads never hold more than the three places, so some may have been refused, but every
        // place came back.
        #expect(rejected.load(ordering: .relaxed) < threads * 2000)
        let fresh = (0..<4).map { _ in PluginHarness() }
        let verdicts = fresh.map { access($0, plugin) }
        #expect(verdicts.filter { $0.rejection == nil }.count == 3)
    }
}
