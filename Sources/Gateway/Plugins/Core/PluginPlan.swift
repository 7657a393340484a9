import Glibc
import Yams

/// The plugins of one plan: the global rules' chain, each route's chain (by route index), and the
/// consumers with their credentials and chains.
package final class PluginPlan: @unchecked Sendable {
    /// Plugins of the global rules, run before the route's in every phase; nil when there are none.
    package let global: PluginChain?
    /// Each route's chain by route index (retired routes keep the chain they had), nil without plugins.
    package let routeChains: [PluginChain?]
    /// The consumers.
    package let consumers: ConsumerTable
    /// Which header carries each route's request id (`request-id`'s `header_name`).
    package let requestIDHeaders: RequestIDHeaderTable
    private let unmanagedRoutes: UnsafeMutablePointer<Unmanaged<PluginChain>?>
    private let routeCapacity: Int

    /// No plugins anywhere.
    package static func empty(routeCapacity: Int) -> PluginPlan {
        PluginPlan(global: nil, routeChains: Array(repeating: nil, count: routeCapacity), consumers: .empty)
    }

    init(global: PluginChain?, routeChains: [PluginChain?], consumers: ConsumerTable) {
        self.global = global
        self.routeChains = routeChains
        self.consumers = consumers
        requestIDHeaders = RequestIDHeaderTable(global: global, routes: routeChains)
        routeCapacity = routeChains.count
        unmanagedRoutes = .allocate(capacity: max(1, routeChains.count))
        for (index, chain) in routeChains.enumerated() {
            (unmanagedRoutes + index).initialize(to: chain.map { Unmanaged.passUnretained($0) })
        }
    }

    deinit {
        unmanagedRoutes.deallocate()
    }

    /// Whether any plugin can run for route `index` (its own or a global rule's).
    @inline(__always)
    package func hasPlugins(route index: Int) -> Bool {
        global != nil || chain(route: index) != nil
    }

    /// Route `index`'s chain, unretained (the plan keeps it alive), or nil.
    @inline(__always)
    package func chain(route index: Int) -> Unmanaged<PluginChain>? {
        index >= 0 && index < routeCapacity ? unmanagedRoutes[index] : nil
    }

    /// Compiles the plugins of `config`; routes are placed at `routeIndices` (enabled routes in order),
    /// and retired route indices keep `previous`'s chains.
    package static func compile(
        config: GatewayConfig,
        routeIndices: [Int32],
        routeCount: Int,
        previous: ProxyPlan?,
        shared: PluginSharedState?
    ) throws(ConfigError) -> PluginPlan {
        var compiler = PluginCompiler(sourceName: config.sourceName)
        // `workers: 0` is one per core, as the server resolves it.
        let workers = config.workers > 0 ? config.workers : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // Consumers first: authentication plugins look their credentials up.
        var names: [String] = []
        var credentials: [(consumer: Int32, credential: ConsumerCredential)] = []
        for consumer in config.consumers {
            let index = Int32(names.count)
            names.append(consumer.username)
            for credential in consumer.credentials { credentials.append((index, credential)) }
            for stored in config.credentials where stored.consumer == consumer.username {
                for credential in stored.credentials { credentials.append((index, credential)) }
            }
        }
        let bare = ConsumerTable(names: names, credentials: credentials, chains: [])
        let bareContext = PluginCompileContext(consumers: bare, shared: shared, workerCount: workers)
        var consumerChains: [PluginChain?] = []
        for consumer in config.consumers {
            consumerChains.append(
                compiler.chain(consumer.plugins, scope: .consumer(consumer.username), context: bareContext)
            )
        }
        let consumers = ConsumerTable(names: names, credentials: credentials, chains: consumerChains)
        let context = PluginCompileContext(consumers: consumers, shared: shared, workerCount: workers)

        var globalPlugins: [PluginChain.Entry] = []
        for rule in config.globalRules {
            globalPlugins += compiler.entries(rule.plugins, scope: .globalRule(rule.id), context: context)
        }
        var routeChains: [PluginChain?] = Array(repeating: nil, count: routeCount)
        for (position, route) in config.routes.filter(\.enabled).enumerated() {
            routeChains[Int(routeIndices[position])] = compiler.chain(
                route.plugins,
                scope: .route(route.id),
                context: context
            )
        }
        if let previous {
            let live = Set(routeIndices)
            for index in 0..<min(routeCount, previous.routeCount) where !live.contains(Int32(index)) {
                routeChains[index] = previous.plugins.routeChains[index]
            }
        }
        if !compiler.issues.isEmpty {
            throw ConfigError(code: .invalid, issues: compiler.issues, sourceName: config.sourceName)
        }
        return PluginPlan(
            global: globalPlugins.isEmpty ? nil : PluginChain(globalPlugins),
            routeChains: routeChains,
            consumers: consumers
        )
    }
}

/// Compiles plugin specs into instances, collecting issues.
package struct PluginCompiler {
    package private(set) var issues: [ConfigIssue] = []
    let sourceName: String

    package init(sourceName: String) {
        self.sourceName = sourceName
    }

    /// The chain of `specs`, or nil when there are none.
    mutating func chain(_ specs: [PluginSpec], scope: PluginScope, context: PluginCompileContext) -> PluginChain? {
        let entries = entries(specs, scope: scope, context: context)
        return entries.isEmpty ? nil : PluginChain(entries)
    }

    /// One entry per spec that compiles.
    mutating func entries(
        _ specs: [PluginSpec],
        scope: PluginScope,
        context: PluginCompileContext
    ) -> [PluginChain.Entry] {
        specs.compactMap { spec in
            guard let plugin = compile(spec, scope: scope, context: context),
                let kind = PluginRegistry.kind(named: spec.name)
            else { return nil }
            return PluginChain.Entry(plugin: plugin, priority: plugin.descriptor.priority, kind: kind)
        }
    }

    /// Compiles one spec; nil (with issues) when it does not, and nil without issues when it is disabled
    /// (`_meta.disable: true`).
    package mutating func compile(
        _ spec: PluginSpec,
        scope: PluginScope,
        context: PluginCompileContext
    ) -> (any GatewayPlugin)? {
        guard let descriptor = PluginRegistry.descriptor(named: spec.name) else {
            issues.append(ConfigIssue(path: spec.path, line: nil, reason: "unknown plugin \"\(spec.name)\""))
            return nil
        }
        let node: Node
        do {
            node = try Yams.compose(yaml: spec.settings) ?? Node([(Node, Node)]())
        } catch {
            issues.append(ConfigIssue(path: spec.path, line: nil, reason: "settings do not parse: \(error)"))
            return nil
        }
        var reader = ConfigReader()
        guard let fields = reader.fields(node, at: spec.path, allowed: descriptor.keys + ["_meta"]) else {
            issues += reader.issues
            return nil
        }
        // `_meta.disable: true` leaves the plugin out, as APISIX does; other `_meta` fields were refused when
        // the configuration was read.
        if reader.pluginMeta(fields) {
            issues += reader.issues
            return nil
        }
        var settings = PluginSettings(
            reader: reader,
            fields: fields,
            scope: scope,
            context: context,
            name: spec.name,
            text: spec.settings
        )
        let plugin = descriptor.compile(&settings)
        issues += settings.reader.issues
        return settings.reader.issues.isEmpty ? plugin : nil
    }
}
