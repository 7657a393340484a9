import Testing

@testable import Gateway

/// The worker's plan slots on their own: which plans are kept, and when one is let go.
@Suite("Plan slots")
struct PlanSlotsTests {
    static func plan() throws -> ProxyPlan {
        try ProxyPlan(
            config: ConfigLoader.parse(
                yaml: """
                    listen: "127.0.0.1:0"
                    routes:
                      - {id: r, uri: /, plugins: {mocking: {response_status: 200}}}
                    """,
                sourceName: "slots"
            )
        )
    }

    @Test func aPlanInUseIsKeptAndLetGoAfterItsLastRequest() throws {
        let first = try Self.plan()
        var slots = PlanSlots(first)
        let held = slots.enter()
        #expect(slots.plan(held) === first)
        #expect(slots.adopt(try Self.plan()))
        #expect(slots.adopt(try Self.plan()))
        #expect(slots.adopt(try Self.plan()))
        #expect(slots.heldCount == 3, "the current plan, the one before it and the one a request holds")
        #expect(slots.plan(held) === first)
        slots.leave(held)
        let needsCollect = slots.needsCollect
        #expect(needsCollect)
        slots.collect()
        #expect(slots.heldCount == 2)
        let stillNeedsCollect = slots.needsCollect
        #expect(!stillNeedsCollect)
    }

    @Test func everySlotInUseRefusesANewPlan() throws {
        var slots = PlanSlots(try Self.plan())
        for _ in 0..<(PlanSlots.capacity - 1) {
            _ = slots.enter()
            #expect(slots.adopt(try Self.plan()))
        }
        _ = slots.enter()
        let current = slots.current
        #expect(!slots.adopt(try Self.plan()))
        #expect(slots.current == current)
        slots.leave(0)
        #expect(slots.adopt(try Self.plan()))
        #expect(slots.current == 0, "the freed slot took the new plan")
    }
}
