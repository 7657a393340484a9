import Testing

@testable import Gateway

/// Node choice against a real plan and health board: availability, half-open allowances, panic mode.
@Suite("NodePicker: availability, half-open probes and panic")
struct NodePickerTests {
    static func plan(type: String = "roundrobin", nodes: Int = 3, panicThreshold: Int = 50) throws -> ProxyPlan {
        let list = (0..<nodes).map { "\"127.0.0.1:\(9001 + $0)\": 1" }.joined(separator: ", ")
        let yaml = """
            listen: "127.0.0.1:0"
            upstreams:
              - id: pool
                type: \(type)
                nodes: {\(list)}
                panic_threshold: \(panicThreshold)
            routes:
              - {id: r, uri: /*, upstream_id: pool}
            """
        return try ProxyPlan(config: ConfigLoader.parse(yaml: yaml, sourceName: "picker"))
    }

    static func board(_ plan: ProxyPlan) -> NodeHealthBoard {
        NodeHealthBoard(nodeCount: plan.nodeCount, workerCount: 1, upstreamCount: plan.upstreamCount)
    }

    static func picks(_ picker: inout NodePicker, _ count: Int, tried: UInt64 = 0) -> [Int] {
        (0..<count).map { _ in picker.pick(upstream: 0, tried: tried, hashKey: 7, now: 1_000).node }
    }

    @Test func unavailableNodesAreSkipped() throws {
        let plan = try Self.plan()
        let board = Self.board(plan)
        board.publish(node: 1, availability: .open, generation: 1)
        var picker = NodePicker(plan: plan, health: board, seed: 1)
        let chosen = Self.picks(&picker, 30)
        #expect(Set(chosen) == [0, 2])
        #expect(picker.pick(upstream: 0, tried: 0, hashKey: 0, now: 0).panic == false)
    }

    @Test func withEveryNodeOutAndNoPanicNothingIsPicked() throws {
        let plan = try Self.plan(panicThreshold: 0)
        let board = Self.board(plan)
        for node in 0..<3 { board.publish(node: node, availability: .open, generation: 1) }
        var picker = NodePicker(plan: plan, health: board, seed: 1)
        #expect(picker.pick(upstream: 0, tried: 0, hashKey: 0, now: 0) == .init(node: -1, panic: false))
        let untried = picker.hasUntriedNode(upstream: 0, tried: 0)
        #expect(!untried)
    }

    @Test(arguments: ["roundrobin", "least_conn", "chash", "ewma"])
    func panicSpreadsOverEveryNodeAndStillSkipsTriedOnes(type: String) throws {
        let plan = try Self.plan(type: type)
        let board = Self.board(plan)
        board.publish(node: 0, availability: .open, generation: 1)
        board.publish(node: 1, availability: .unhealthy, generation: 1)
        board.publishPanic(upstream: 0, true)
        var picker = NodePicker(plan: plan, health: board, seed: 42)
        let pick = picker.pick(upstream: 0, tried: 0, hashKey: 7, now: 1_000)
        #expect(pick.panic)
        #expect((0..<3).contains(pick.node))
        if type == "roundrobin" { #expect(Set(Self.picks(&picker, 30)) == [0, 1, 2]) }
        // A retry still goes to another node: the tried ones are never picked again.
        #expect(Set(Self.picks(&picker, 20, tried: 0b011)) == [2])
        let oneLeft = picker.hasUntriedNode(upstream: 0, tried: 0b011)
        let noneLeft = picker.hasUntriedNode(upstream: 0, tried: 0b111)
        #expect(oneLeft)
        #expect(!noneLeft)
        #expect(picker.pick(upstream: 0, tried: 0b111, hashKey: 7, now: 0).node == -1)
    }

    @Test func halfOpenNodesTakeTheirProbeAllowancePerGeneration() throws {
        let plan = try Self.plan()
        let board = Self.board(plan)
        board.publish(node: 0, availability: .open, generation: 1)
        board.publish(node: 1, availability: .halfOpen, generation: 1)
        board.publish(node: 2, availability: .open, generation: 1)
        var picker = NodePicker(plan: plan, health: board, seed: 1)
        // half_open_requests defaults to 1: one probe, then nothing until the next generation.
        #expect(Self.picks(&picker, 3) == [1, -1, -1])
        board.publish(node: 1, availability: .halfOpen, generation: 2)
        #expect(Self.picks(&picker, 2) == [1, -1])
    }

    @Test func loadIsCountedForLeastConnections() throws {
        let plan = try Self.plan(type: "least_conn", nodes: 2)
        let board = Self.board(plan)
        var picker = NodePicker(plan: plan, health: board, seed: 1)
        let first = picker.pick(upstream: 0, tried: 0, hashKey: 0, now: 0).node
        picker.started(node: first)
        let busy = picker.active(node: first)
        #expect(busy == 1)
        let second = picker.pick(upstream: 0, tried: 0, hashKey: 0, now: 0).node
        #expect(second == 1 - first, "least_conn chose the busy node")
        picker.finished(node: first, latency: 1_000_000, now: 2_000_000)
        let idle = picker.active(node: first)
        #expect(idle == 0)
    }

    @Test(arguments: [
        (3, 3, 50, false), (0, 3, 50, true), (1, 3, 50, true), (2, 4, 50, false), (1, 2, 50, false), (0, 1, 1, true),
        (0, 1, 0, false),
    ])
    func thresholdArithmetic(available: Int, total: Int, threshold: Int, panic: Bool) {
        #expect(PanicThreshold.isPanic(available: available, total: total, threshold: threshold) == panic)
    }
}
