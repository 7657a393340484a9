/// The plugins of one route (with its service's), of the global rules, or of one consumer, compiled
/// and split by phase in priority order, ready for a worker to walk without allocating.
package final class PluginChain: @unchecked Sendable {
    /// One plugin instance in a phase list.
    package struct Entry {
        package let plugin: any GatewayPlugin
        package let priority: Int
        /// Position in ``PluginRegistry/builtins``: metric label and merge identity.
        package let kind: UInt8
    }

    private let lists: UnsafeMutablePointer<UnsafeMutablePointer<Entry>>
    private let counts: UnsafeMutablePointer<Int>
    /// Every plugin instance, in priority order (highest first).
    package let plugins: [Entry]
    /// Registry positions of the plugins in the chain, as a bit set (for consumer merging).
    package let kinds: UInt64

    /// `plugins` in any order; sorted here by priority, highest first, then by name.
    package init(_ plugins: [Entry]) {
        let sorted = plugins.enumerated().sorted {
            $0.element.priority != $1.element.priority
                ? $0.element.priority > $1.element.priority : $0.offset < $1.offset
        }.map(\.element)
        self.plugins = sorted
        kinds = sorted.reduce(0) { $0 | (1 << UInt64($1.kind)) }
        let phaseCount = PluginPhase.allCases.count
        lists = .allocate(capacity: phaseCount)
        counts = .allocate(capacity: phaseCount)
        for phase in PluginPhase.allCases {
            let members = sorted.filter { $0.plugin.descriptor.phases.contains(phase) }
            let list = UnsafeMutablePointer<Entry>.allocate(capacity: max(1, members.count))
            list.initialize(from: members, count: members.count)
            (lists + Int(phase.rawValue)).initialize(to: list)
            (counts + Int(phase.rawValue)).initialize(to: members.count)
        }
    }

    deinit {
        for phase in 0..<PluginPhase.allCases.count {
            lists[phase].deinitialize(count: counts[phase])
            lists[phase].deallocate()
        }
        lists.deallocate()
        counts.deallocate()
    }

    /// How many plugins run in `phase`.
    @inline(__always)
    package func count(_ phase: PluginPhase) -> Int { counts[Int(phase.rawValue)] }

    /// The `index`th plugin of `phase` (borrowed: no reference counting on the worker).
    @inline(__always)
    package func entries(_ phase: PluginPhase) -> UnsafeMutablePointer<Entry> { lists[Int(phase.rawValue)] }

    /// Whether the chain has a plugin of the registry kind `kind`.
    @inline(__always)
    package func contains(kind: UInt8) -> Bool { kinds & (1 << UInt64(kind)) != 0 }
}
