import AccessLog
import Dispatch
import Synchronization
import Testing

@testable import Gateway

@Suite("limit-count plugin")
struct LimitCountPluginTests {
    private static let second: UInt64 = 1_000_000_000

    /// Runs `access` for a GET from `peer` with `headers` at `now`.
    private func access(
        _ harness: PluginHarness,
        _ plugin: any GatewayPlugin,
        peer: (UInt8, UInt8, UInt8, UInt8) = (10, 0, 0, 1),
        headers: String = "",
        now: UInt64 = 1_000 * second
    ) -> PluginVerdict {
        harness.begin("GET /a HTTP/1.1\r\nHost: h\r\n\(headers)\r\n", now: now, peer: ClientAddress(ipv4: peer))
        return harness.run(plugin, .access)
    }

    /// The response header `name` recorded so far.
    private func header(_ harness: PluginHarness, _ name: String) -> String? {
        harness.edits.last { $0.0 == .responseSet && $0.1 == name }?.2
    }

    @Test("required keys, ranges, keys and policies are checked with their key paths")
    func configErrors() {
        let path = "routes[0].plugins.limit-count"
        let missing = PluginHarness.issues("limit-count", "{time_window: 60}")
        #expect(missing.contains { $0.path == "\(path).count" && $0.reason.contains("required") })
        #expect(PluginHarness.issues("limit-count", "{count: 0, time_window: 60}").map(\.path) == ["\(path).count"])
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: -1}").map(\.path) == ["\(path).time_window"]
        )
        let badKey = PluginHarness.issues("limit-count", "{count: 1, time_window: 60, key: server_port}")
        #expect(badKey.map(\.path) == ["\(path).key"])
        #expect(badKey.first?.reason.contains("unsupported variable \"server_port\"") == true)
        let dollar = PluginHarness.issues("limit-count", "{count: 1, time_window: 60, key: $remote_addr}")
        #expect(dollar.first?.reason.contains("without \"$\"") == true)
        let combination = PluginHarness.issues(
            "limit-count",
            "{count: 1, time_window: 60, key_type: var_combination, key: \"$remote_addr $nope\"}"
        )
        #expect(combination.map(\.path) == ["\(path).key"])
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, key_type: header}").map(\.path) == [
                "\(path).key_type"
            ]
        )
        // The redis policy: APISIX's flat keys or the nested `redis` object, not both; a host is required.
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, policy: redis, redis_host: 127.0.0.1}")
                .isEmpty
        )
        #expect(
            PluginHarness.issues(
                "limit-count",
                "{count: 1, time_window: 60, policy: redis, redis: {host: 127.0.0.1, port: 6380, batch: 10, on_error: deny, timeout: 0.5}}"
            ).isEmpty
        )
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, policy: redis}").map(\.path) == [
                "\(path).redis_host"
            ]
        )
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, policy: redis, redis: {port: 1}}").map(
                \.path
            ) == ["\(path).redis.host"]
        )
        #expect(
            PluginHarness.issues(
                "limit-count",
                "{count: 1, time_window: 60, policy: redis, redis: {host: 127.0.0.1, on_error: maybe}}"
            ).map(\.path) == ["\(path).redis.on_error"]
        )
        #expect(
            PluginHarness.issues(
                "limit-count",
                "{count: 1, time_window: 60, policy: redis, redis: {host: 127.0.0.1, batch: 0}}"
            ).map(\.path) == ["\(path).redis.batch"]
        )
        #expect(
            PluginHarness.issues(
                "limit-count",
                "{count: 1, time_window: 60, policy: redis, redis: {host: 127.0.0.1, pasword: x}}"
            ).map(\.path) == ["\(path).redis.pasword"]
        )
        #expect(
            PluginHarness.issues(
                "limit-count",
                "{count: 1, time_window: 60, policy: redis, redis: {host: 127.0.0.1}, redis_port: 1}"
            ).map(\.path) == ["\(path).redis_port"]
        )
        let cluster = PluginHarness.issues("limit-count", "{count: 1, time_window: 60, policy: redis-cluster}")
        #expect(cluster.first?.reason.contains("\"redis-cluster\" is not supported yet") == true)
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, rejected_code: 700}").map(\.path) == [
                "\(path).rejected_code"
            ]
        )
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, rejected_msg: \"\"}").map(\.path) == [
                "\(path).rejected_msg"
            ]
        )
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, group: \"\"}").map(\.path) == [
                "\(path).group"
            ]
        )
        #expect(PluginHarness.issues("limit-count", "{count: 1, time_window: 60, policy: local}").isEmpty)
        #expect(
            PluginHarness.issues("limit-count", "{count: 1, time_window: 60, key_type: constant, key: all}").isEmpty
        )
    }

    @Test("count requests pass in a window and the next is rejected with 429 and the quota headers")
    func countsExactly() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("limit-count", "{count: 3, time_window: 60}")
        for remaining in [2, 1, 0] {
            #expect(access(harness, plugin).proceeds)
            #expect(header(harness, "X-RateLimit-Limit") == "3")
            #expect(header(harness, "X-RateLimit-Remaining") == "\(remaining)")
            #expect(header(harness, "X-RateLimit-Reset") == "60")
        }
        let rejected = access(harness, plugin, now: 1_000 * Self.second + 10_500_000_000)
        #expect(rejected.rejection?.status == 429)
        #expect(rejected.rejection?.message == "Too Many Requests")
        #expect(header(harness, "X-RateLimit-Limit") == "3")
        #expect(header(harness, "X-RateLimit-Remaining") == "0")
        // 49.5 s left, rounded up.
        #expect(header(harness, "X-RateLimit-Reset") == "50")
    }

    @Test("the window starts with the key's first request and a new one starts after time_window")
    func windowResets() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("limit-count", "{count: 2, time_window: 10}")
        let start = 500 * Self.second
        #expect(access(harness, plugin, now: start).proceeds)
        #expect(access(harness, plugin, now: start + 4 * Self.second).proceeds)
        #expect(header(harness, "X-RateLimit-Reset") == "6")
        #expect(access(harness, plugin, now: start + 9_999_000_000).rejection != nil)
        #expect(access(harness, plugin, now: start + 10 * Self.second).proceeds)
        #expect(header(harness, "X-RateLimit-Remaining") == "1")
        #expect(header(harness, "X-RateLimit-Reset") == "10")
        #expect(access(harness, plugin, now: start + 11 * Self.second).proceeds)
        #expect(access(harness, plugin, now: start + 12 * Self.second).rejection != nil)
    }

    @Test("rejected_code and rejected_msg shape the rejection; show_limit_quota_header false records nothing")
    func rejectionSettings() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile(
            "limit-count",
            "{count: 1, time_window: 60, rejected_code: 503, rejected_msg: \"slow \\\"down\\\"\", show_limit_quota_header: false}"
        )
        #expect(access(harness, plugin).proceeds)
        #expect(harness.edits.isEmpty)
        let rejected = access(harness, plugin)
        #expect(rejected.rejection?.status == 503)
        #expect(rejected.rejection?.message == "slow \\\"down\\\"")
        #expect(harness.edits.isEmpty)
    }

    @Test("keys: client addresses, headers, query arguments, cookies, consumers and combinations count apart")
    func perKeySeparation() throws {
        let harness = PluginHarness()
        let byAddress = try harness.compile("limit-count", "{count: 1, time_window: 60}")
        #expect(access(harness, byAddress, peer: (10, 0, 0, 1)).proceeds)
        #expect(access(harness, byAddress, peer: (10, 0, 0, 2)).proceeds)
        #expect(access(harness, byAddress, peer: (10, 0, 0, 1)).rejection != nil)

        let byHeader = try harness.compile("limit-count", "{count: 1, time_window: 60, key: http_x_user}")
        #expect(access(harness, byHeader, headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, byHeader, headers: "x-user: bob\r\n").proceeds)
        #expect(access(harness, byHeader, peer: (10, 0, 0, 9), headers: "X-USER: alice\r\n").rejection != nil)
        // Without the header the client address is the key, as in APISIX.
        #expect(access(harness, byHeader, peer: (10, 0, 0, 3)).proceeds)
        #expect(access(harness, byHeader, peer: (10, 0, 0, 3)).rejection != nil)
        // Keys equal as text are one key: the address in a header is that client's key.
        #expect(access(harness, byHeader, peer: (10, 0, 0, 4)).proceeds)
        #expect(access(harness, byHeader, peer: (10, 0, 0, 5), headers: "X-User: 10.0.0.4\r\n").rejection != nil)

        let byArgument = try harness.compile("limit-count", "{count: 1, time_window: 60, key: arg_user}")
        harness.begin("GET /a?user=alice HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(byArgument, .access).proceeds)
        harness.begin("GET /a?x=1&user=bob HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(byArgument, .access).proceeds)
        harness.begin("GET /b?user=alice HTTP/1.1\r\nHost: h\r\n\r\n", peer: ClientAddress(ipv4: (10, 1, 1, 1)))
        #expect(harness.run(byArgument, .access).rejection != nil)

        let byCookie = try harness.compile("limit-count", "{count: 1, time_window: 60, key: cookie_session}")
        #expect(access(harness, byCookie, headers: "Cookie: a=1; session=s1\r\n").proceeds)
        #expect(access(harness, byCookie, headers: "Cookie: session=s2\r\n").proceeds)
        #expect(access(harness, byCookie, peer: (10, 9, 9, 9), headers: "Cookie: session=s1\r\n").rejection != nil)

        let byHost = try harness.compile("limit-count", "{count: 1, time_window: 60, key: host}")
        harness.begin("GET / HTTP/1.1\r\nHost: Example.COM:8080\r\n\r\n")
        #expect(harness.run(byHost, .access).proceeds)
        harness.begin("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", peer: ClientAddress(ipv4: (10, 2, 2, 2)))
        #expect(harness.run(byHost, .access).rejection != nil)

        let combined = try harness.compile(
            "limit-count",
            "{count: 1, time_window: 60, key_type: var_combination, key: \"$remote_addr ${http_x_user}\"}"
        )
        #expect(access(harness, combined, peer: (10, 0, 0, 1), headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, combined, peer: (10, 0, 0, 1), headers: "X-User: bob\r\n").proceeds)
        #expect(access(harness, combined, peer: (10, 0, 0, 2), headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, combined, peer: (10, 0, 0, 1), headers: "X-User: alice\r\n").rejection != nil)

        let constant = try harness.compile("limit-count", "{count: 2, time_window: 60, key_type: constant, key: all}")
        #expect(access(harness, constant, peer: (10, 0, 0, 1)).proceeds)
        #expect(access(harness, constant, peer: (10, 0, 0, 2)).proceeds)
        #expect(access(harness, constant, peer: (10, 0, 0, 3)).rejection != nil)
    }

    @Test("var_combination: text around variables, absent variables and an escaped $")
    func combinations() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile(
            "limit-count",
            "{count: 1, time_window: 60, key_type: var_combination, key: \"u-$http_x_user-$arg_v\"}"
        )
        #expect(access(harness, plugin, peer: (10, 0, 0, 1), headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, plugin, peer: (10, 0, 0, 2), headers: "X-User: alice\r\n").rejection != nil)
        // No variable has a value: the client address is the key.
        #expect(access(harness, plugin, peer: (10, 0, 0, 3)).proceeds)
        #expect(access(harness, plugin, peer: (10, 0, 0, 3)).rejection != nil)
        #expect(access(harness, plugin, peer: (10, 0, 0, 4)).proceeds)

        let escaped = try harness.compile(
            "limit-count",
            "{count: 1, time_window: 60, key_type: var_combination, key: \"\\\\$http_x_user\"}"
        )
        #expect(access(harness, escaped, peer: (10, 0, 0, 1), headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, escaped, peer: (10, 0, 0, 2), headers: "X-User: alice\r\n").proceeds)
        #expect(access(harness, escaped, peer: (10, 0, 0, 2), headers: "X-User: bob\r\n").rejection != nil)
    }

    @Test("consumer_name keys count consumers apart and fall back to the address without one")
    func consumerKey() throws {
        let consumers = ConsumerTable(names: ["alice", "bob"], credentials: [], chains: [])
        let harness = PluginHarness(consumers: consumers)
        let plugin = try harness.compile("limit-count", "{count: 1, time_window: 60, key: consumer_name}")
        for (consumer, proceeds) in [(Int32(0), true), (1, true), (0, false), (-1, true), (-1, false)] {
            harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            if consumer >= 0 { harness.request.authenticate(consumer: consumer) }
            #expect(harness.run(plugin, .access).proceeds == proceeds)
        }
    }

    @Test("workers share one count: two harnesses on one shared state admit count in all")
    func sharedAcrossWorkers() throws {
        let shared = PluginSharedState()
        let first = PluginHarness(worker: 0)
        let second = PluginHarness(worker: 1)
        let settings = "{count: 4, time_window: 60}"
        let one = try first.compile("limit-count", settings, shared: shared, workers: 2)
        let other = try second.compile("limit-count", settings, shared: shared, workers: 2)
        var admitted = 0
        for index in 0..<10 {
            let harness = index.isMultiple(of: 2) ? first : second
            if access(harness, index.isMultiple(of: 2) ? one : other).proceeds { admitted += 1 }
        }
        #expect(admitted == 4)
        // Other settings are another limit.
        let changed = try first.compile("limit-count", "{count: 5, time_window: 60}", shared: shared, workers: 2)
        #expect(access(first, changed).proceeds)
    }

    @Test("routes in one group share the count; a group member with other settings is reported")
    func groups() throws {
        let shared = PluginSharedState()
        let harness = PluginHarness()
        let settings = "{count: 2, time_window: 60, group: g}"
        let one = try harness.compile("limit-count", settings, scope: .route("a"), shared: shared)
        let other = try harness.compile("limit-count", settings, scope: .route("b"), shared: shared)
        #expect(access(harness, one).proceeds)
        #expect(access(harness, other).proceeds)
        #expect(access(harness, one).rejection != nil)
        #expect(access(harness, other).rejection != nil)

        var compiler = PluginCompiler(sourceName: "test")
        let context = PluginCompileContext(consumers: .empty, shared: shared, workerCount: 1)
        let path = "routes[1].plugins.limit-count"
        let first = PluginSpec(name: "limit-count", settings: settings, path: "routes[0].plugins.limit-count")
        let mismatched = PluginSpec(name: "limit-count", settings: "{count: 3, time_window: 60, group: g}", path: path)
        #expect(compiler.compile(first, scope: .route("a"), context: context) != nil)
        #expect(compiler.compile(mismatched, scope: .route("b"), context: context) == nil)
        #expect(compiler.issues.map(\.path) == ["\(path).group"])
        #expect(compiler.issues.first?.reason.contains("group conf mismatched") == true)
    }

    @Test("a configuration whose routes join one group with different settings is rejected at the group key")
    func groupMismatchInConfiguration() throws {
        func issues(_ second: String) throws -> [ConfigIssue] {
            let yaml = """
                upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
                routes:
                  - {id: a, uri: /a, upstream_id: u, plugins: {limit-count: {count: 2, time_window: 60, group: shared-g}}}
                  - {id: b, uri: /b, upstream_id: u, plugins: {limit-count: \(second)}}
                """
            let config = try ConfigLoader.parse(
                yaml: yaml,
                sourceName: "test",
                environment: [:],
                resolveHostnames: false
            )
            do {
                _ = try ProxyPlan(config: config)
                return []
            } catch {
                return error.issues
            }
        }
        #expect(try issues("{count: 2, time_window: 60, group: shared-g}").isEmpty)
        let mismatched = try issues("{count: 2, time_window: 30, group: shared-g}")
        #expect(mismatched.map(\.path) == ["routes[1].plugins.limit-count.group"])
    }

    @Test("threads hammering one instance admit exactly count")
    func concurrentExactness() throws {
        let threads = 4
        let harnesses = (0..<threads).map { PluginHarness(worker: $0) }
        let plugin = try harnesses[0].compile(
            "limit-count",
            "{count: 1000, time_window: 60}",
            shared: PluginSharedState(),
            workers: threads
        )
        let admitted = Atomic<Int>(0)
        let box = LimitTestBox(harnesses)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let harness = box.value[thread]
            var passed = 0
            for _ in 0..<1000 {
                harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", now: 1_000 * Self.second)
                if harness.run(plugin, .access).proceeds { passed += 1 }
            }
            admitted.add(passed, ordering: .relaxed)
        }
        #expect(admitted.load(ordering: .relaxed) == 1000)
    }

    @Test("keys beyond the table share the overflow slot, or pass with allow_degradation; idle slots are reused")
    func tableFull() throws {
        let harness = PluginHarness()
        let keys = LimitTable.variableCapacity + 4000
        func run(_ plugin: any GatewayPlugin, from start: Int, count: Int, now: UInt64) -> Int {
            var rejected = 0
            for index in start..<(start + count) {
                let peer = (UInt8(10), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF))
                if access(harness, plugin, peer: peer, now: now).rejection != nil { rejected += 1 }
            }
            return rejected
        }
        let strict = try harness.compile("limit-count", "{count: 1, time_window: 60}")
        // At least the keys that found no slot but the first of them are rejected.
        #expect(run(strict, from: 0, count: keys, now: 1_000 * Self.second) >= keys - LimitTable.variableCapacity - 1)
        // A window later every slot is idle: new keys all find one.
        #expect(run(strict, from: keys, count: 8000, now: 1_061 * Self.second) == 0)

        let lenient = try harness.compile("limit-count", "{count: 1, time_window: 60, allow_degradation: true}")
        #expect(run(lenient, from: 0, count: keys, now: 1_000 * Self.second) == 0)
    }
}

/// Hands a non-Sendable value to threads that each use their own part of it.
final class LimitTestBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
