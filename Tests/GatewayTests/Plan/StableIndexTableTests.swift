import Testing

@testable import Gateway

@Suite("Stable indices across reloads")
struct StableIndexTableTests {
    @discardableResult
    static func assign(
        _ table: inout StableIndexTable,
        _ keys: [String],
        now: UInt64,
        quarantine: UInt64
    ) throws -> StableIndexTable.Assignment {
        let result = table.assign(keys, now: now, quarantine: quarantine)
        return try #require(result)
    }

    @Test func keysKeepTheirIndexAndNewOnesGetFreshOnes() throws {
        var table = StableIndexTable(capacity: 8)
        let first = try Self.assign(&table, ["a", "b", "c"], now: 0, quarantine: 100)
        #expect(first.indices == [0, 1, 2])
        #expect(first.fresh == [0, 1, 2])
        let second = try Self.assign(&table, ["c", "d", "a"], now: 10, quarantine: 100)
        #expect(second.indices == [2, 3, 0], "c and a keep theirs; d is new, b's index is in quarantine")
        #expect(second.fresh == [3])
        #expect(second.retired == [1])
        #expect(table.highWater == 4)
    }

    @Test func aRetiredIndexIsReusedOnlyAfterQuarantineOrByItsOwnKey() throws {
        var table = StableIndexTable(capacity: 8)
        try Self.assign(&table, ["a", "b"], now: 0, quarantine: 100)
        try Self.assign(&table, ["a"], now: 10, quarantine: 100)
        let back = try Self.assign(&table, ["a", "b"], now: 20, quarantine: 100)
        #expect(back.indices == [0, 1], "b comes back to its own index")
        try Self.assign(&table, ["a"], now: 30, quarantine: 100)
        let early = try Self.assign(&table, ["a", "x"], now: 50, quarantine: 100)
        #expect(early.indices == [0, 2], "b's index is still in quarantine")
        try Self.assign(&table, ["a"], now: 60, quarantine: 100)
        let late = try Self.assign(&table, ["a", "y"], now: 200, quarantine: 100)
        #expect(late.indices == [0, 1], "the oldest retired index, past its quarantine")
        #expect(late.fresh == [1])
    }

    @Test func aFullTableReusesTheOldestRetiredIndexOrRefuses() throws {
        var table = StableIndexTable(capacity: 2)
        try Self.assign(&table, ["a", "b"], now: 0, quarantine: 100)
        let overflow = table.assign(["a", "b", "c"], now: 1, quarantine: 100)
        #expect(overflow == nil)
        let swapped = try Self.assign(&table, ["a", "c"], now: 2, quarantine: 100)
        #expect(swapped.indices == [0, 1])
    }

    @Test func aReloadedPlanKeepsIndicesAndRetiredEntries() throws {
        let before = try ConfigLoader.parse(
            yaml: """
                routes:
                  - {id: keep, uri: /keep/*, upstream_id: u1}
                  - {id: gone, uri: /gone/*, upstream_id: u2}
                upstreams:
                  - {id: u1, nodes: {"127.0.0.1:9001": 1, "127.0.0.1:9002": 1}}
                  - {id: u2, nodes: {"127.0.0.1:9003": 1}}
                """,
            sourceName: "before"
        )
        let after = try ConfigLoader.parse(
            yaml: """
                routes:
                  - {id: new, uri: /new/*, upstream_id: u1}
                  - {id: keep, uri: /keep/*, upstream_id: u1}
                upstreams:
                  - {id: u1, nodes: {"127.0.0.1:9002": 1, "127.0.0.1:9004": 1}}
                """,
            sourceName: "after"
        )
        let first = try ProxyPlan(config: before)
        let second = try ProxyPlan(config: after, layout: first.layout, previous: first, now: 1)
        #expect(second.generation == 1)
        #expect(second.routeIDs[0] == "keep" && second.routeIDs[1] == "gone" && second.routeIDs[2] == "new")
        #expect(second.isLive(route: 0) && !second.isLive(route: 1) && second.isLive(route: 2))
        #expect(!second.isLive(upstream: 1), "u2 is retired")
        #expect(second.upstreams[1].memberCount == 0, "nothing new goes to a retired upstream")
        // 9001 retired, 9002 kept at index 1, 9003 retired with u2, 9004 new at index 3.
        #expect(second.nodeAddresses[1] == "127.0.0.1:9002" && second.isLive(node: 1))
        #expect(!second.isLive(node: 0) && !second.isLive(node: 2))
        #expect(second.nodeAddresses[3] == "127.0.0.1:9004" && second.isLive(node: 3))
        let members = (0..<Int(second.upstreams[0].memberCount)).map { second.node(upstream: 0, offset: $0) }
        #expect(members == [1, 3])
        // The route table answers with the stable indices.
        let keep = "/keep/x".utf8.withContiguousStorageIfAvailable {
            second.routeTable.match(
                method: .get,
                host: UnsafeRawBufferPointer(start: nil, count: 0),
                path: UnsafeRawBufferPointer($0)
            )
        }
        #expect(keep == 0)
        let new = "/new/x".utf8.withContiguousStorageIfAvailable {
            second.routeTable.match(
                method: .get,
                host: UnsafeRawBufferPointer(start: nil, count: 0),
                path: UnsafeRawBufferPointer($0)
            )
        }
        #expect(new == 2)
    }
}
