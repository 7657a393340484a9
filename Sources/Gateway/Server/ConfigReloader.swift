import CLiburing
import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization

/// The one reload path: SIGHUP, a changed config file and Admin API writes all come here.
///
/// A new configuration is validated whole (exactly as `gateway check` does), compiled into a plan off
/// the workers, and published; each worker switches between requests. A configuration with any
/// problem changes nothing: the running plan stays, the failure is counted, logged key by key, and
/// shown in `/status`. Process-level keys keep their running values (see ``processLevelChanges``).
package final class ConfigReloader: @unchecked Sendable {
    /// Where reloads read the configuration from: a file, or nothing (a quick-start configuration
    /// made from flags, which only Admin API writes change).
    package let path: String?
    private let publisher: PlanPublisher
    private let healthController: HealthController
    let logger: Logger
    /// The process-level values in force since start.
    private let running: GatewayConfig
    /// Serialises reloads and holds what `/status` reports, the source last loaded and the Admin API's
    /// resources (both parts of every configuration compiled).
    let state: Mutex<State>
    struct State {
        var status: ConfigReloadStatus
        var base: ConfigSource?
        var resources: ResourceSet
        /// The resources `base` defines itself, as the Admin API lists them.
        var fileResources: ResourceSet
    }
    /// Where Admin API resources are persisted (nil: the Admin API is off).
    let store: (any ResourceStore)?
    /// Process-level keys the configuration being compiled asked to change (under `state`'s lock).
    private var pendingRestart: [String] = []
    /// Latency thresholds of the configuration being compiled that have no bucket yet (under `state`'s lock).
    private var pendingBucketGaps: [SLOBucketGap] = []
    /// Called with the plan after each successful reload (metric series of removed routes).
    private let onReload: @Sendable (_ previous: ProxyPlan, _ next: ProxyPlan) -> Void

    /// `base` is the source the running plan was compiled from, with `resources` (from `store`) added.
    package init(
        path: String?,
        base: ConfigSource?,
        resources: ResourceSet = ResourceSet(),
        store: (any ResourceStore)? = nil,
        publisher: PlanPublisher,
        healthController: HealthController,
        logger: Logger,
        onReload: @escaping @Sendable (ProxyPlan, ProxyPlan) -> Void = { _, _ in }
    ) {
        self.path = path
        self.publisher = publisher
        self.healthController = healthController
        self.logger = logger
        self.onReload = onReload
        let plan = publisher.current
        running = plan.config
        self.store = store
        var status = ConfigReloadStatus()
        status.generation = plan.generation
        status.hash = plan.config.sourceHash
        status.source = plan.config.sourceName
        status.apiResources = Self.ids(of: resources)
        state = Mutex(
            State(
                status: status,
                base: base,
                resources: resources,
                fileResources: base.map { ResourceSet(fileDefinedIn: $0) } ?? ResourceSet()
            )
        )
    }

    // SIGHUP reloads run on their own low-priority thread, so the signal thread stays free for
    // shutdown and the workers go first on a busy machine.
    private let pendingTriggers = Mutex<[String]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let threadFinished = DispatchSemaphore(value: 0)
    private let threadState = Mutex<(started: Bool, stopping: Bool)>((false, false))

    /// Starts the thread that serves ``requestReloadFromFile(trigger:)``.
    package func startReloadThread() {
        guard
            threadState.withLock({ state in
                defer { state.started = true }
                return !state.started
            })
        else { return }
        let thread = Thread { [self] in
            ThreadPriority.lowerCurrentThread()
            while true {
                wake.wait()
                if threadState.withLock({ $0.stopping }) { break }
                let triggers = pendingTriggers.withLock { pending in
                    defer { pending = [] }
                    return pending
                }
                // Requests that piled up while one ran are served by one reload of the file as it is now.
                if let trigger = triggers.first { reloadFromFile(trigger: trigger) }
            }
            threadFinished.signal()
        }
        thread.name = "gateway-reload"
        thread.start()
    }

    /// Asks the reload thread to read the file again (returns at once; without the thread, reloads now).
    package func requestReloadFromFile(trigger: String) {
        guard threadState.withLock({ $0.started && !$0.stopping }) else {
            reloadFromFile(trigger: trigger)
            return
        }
        pendingTriggers.withLock { $0.append(trigger) }
        wake.signal()
    }

    /// Stops the reload thread after the reload it is running, if any.
    package func stopReloadThread() {
        let running = threadState.withLock { state in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        guard running else { return }
        wake.signal()
        // A reload in progress finishes first; shutdown waits at most a second for it.
        _ = threadFinished.wait(timeout: .now() + 1)
    }

    /// A copy of the reload status (any thread).
    package var status: ConfigReloadStatus { state.withLock { $0.status } }

    /// The Admin API's resources in force.
    package var resources: ResourceSet { state.withLock { $0.resources } }

    /// The resources the configuration file defines (read-only through the Admin API).
    package var fileResources: ResourceSet { state.withLock { $0.fileResources } }

    /// The ids in `resources` by kind.
    static func ids(of resources: ResourceSet) -> [String: Set<String>] {
        var ids: [String: Set<String>] = [:]
        for kind in AdminResourceKind.allCases {
            let list = resources.list(kind)
            if !list.isEmpty { ids[kind.rawValue] = Set(list.map(\.id)) }
        }
        return ids
    }

    /// The Admin API resources of `resources` as entries added to the file's sections.
    package static func overlay(_ resources: ResourceSet) -> [ConfigOverlayEntry] {
        var entries: [ConfigOverlayEntry] = []
        let order: [AdminResourceKind] = [
            .upstreams, .services, .routes, .consumers, .credentials, .globalRules, .ssls,
        ]
        for kind in order {
            for resource in resources.list(kind) {
                var json = resource.json
                if kind == .credentials, let slash = resource.id.firstIndex(of: "/"),
                    var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
                {
                    // Stored under "{username}/{id}"; the config reader wants the two apart.
                    object["consumer"] = String(resource.id[..<slash])
                    object["id"] = String(resource.id[resource.id.index(after: slash)...])
                    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                        json = String(decoding: data, as: UTF8.self)
                    }
                }
                entries.append(
                    ConfigOverlayEntry(section: kind.rawValue, json: json, label: "\(kind.rawValue)/\(resource.id)")
                )
            }
        }
        return entries
    }

    /// The plan serving new requests.
    package var current: ProxyPlan { publisher.current }

    /// Reads the config file again and applies it with the Admin API's resources. `trigger` names the
    /// cause in the log ("SIGHUP").
    @discardableResult
    package func reloadFromFile(trigger: String) -> Result<ProxyPlan, ConfigError> {
        guard let path else {
            logger.info("reload (\(trigger)): no configuration file to read (started from flags)")
            return .success(current)
        }
        let started = ContinuousClock.now
        return state.withLock { state in
            do throws(ConfigError) {
                let source = try ConfigLoader.source(path: path)
                let config = try ConfigLoader.read(source, overlay: Self.overlay(state.resources))
                let plan = try compile(config)
                state.base = source
                // Only the Admin API lists them.
                if store != nil { state.fileResources = ResourceSet(fileDefinedIn: source) }
                publish(
                    plan,
                    config: config,
                    resources: state.resources,
                    trigger: trigger,
                    since: started,
                    status: &state.status
                )
                return .success(plan)
            } catch {
                record(failure: error, trigger: trigger, into: &state.status)
                return .failure(error)
            }
        }
    }

    /// An Admin API write: the file as last loaded plus `proposed`, validated and compiled; then
    /// `proposed` is persisted and the plan published. Any failure changes nothing.
    package func applyResources(_ proposed: ResourceSet, trigger: String = "admin API") -> AdminApplyResult {
        let started = ContinuousClock.now
        return state.withLock { state in
            guard let base = state.base else {
                return .rejected(["(config): this gateway was not started from a configuration source"])
            }
            let plan: ProxyPlan
            let config: GatewayConfig
            do throws(ConfigError) {
                config = try ConfigLoader.read(base, overlay: Self.overlay(proposed))
                plan = try compile(config)
            } catch {
                record(failure: error, trigger: trigger, into: &state.status)
                return .rejected(error.issues.map { "\($0.path): \($0.reason)" })
            }
            var stored = proposed
            if let store {
                do throws(AdminStoreError) {
                    stored = try store.commit(proposed, over: state.resources)
                } catch  where error.code == .conflict {
                    logger.notice("admin API: write refused, \(error.message)")
                    return .conflict(error.message)
                } catch {
                    logger.error("admin API: cannot persist the resources (\(error)); the write is refused")
                    return .storeFailed("\(error)")
                }
            }
            state.resources = stored
            state.status.apiResources = Self.ids(of: stored)
            publish(plan, config: config, resources: stored, trigger: trigger, since: started, status: &state.status)
            return .applied
        }
    }

    /// The plan for `config` with the running process-level values; the changed keys are noted.
    func compile(_ config: GatewayConfig) throws(ConfigError) -> ProxyPlan {
        var next = config
        pendingRestart = Self.processLevelChanges(running: running, requested: &next)
        pendingBucketGaps = SLOBucketGap.gaps(
            running: running,
            requested: next,
            fallback: GatewayMetrics.defaultLatencyBuckets
        )
        let previous = publisher.current
        return try ProxyPlan(config: next, layout: previous.layout, previous: previous, now: gw_monotonic_ns())
    }

    func publish(
        _ plan: ProxyPlan,
        config next: GatewayConfig,
        resources: ResourceSet,
        trigger: String,
        since started: ContinuousClock.Instant,
        status: inout ConfigReloadStatus
    ) {
        let previous = publisher.current
        publisher.publish(plan)
        healthController.adopt(plan: plan)
        onReload(previous, plan)
        // Counters of plugins the new plan no longer has go once the plans holding them are freed.
        PluginSharedState.process.keepOnlyUsed()
        for change in pendingRestart where !status.restartRequired.contains(change) {
            logger.warning("config key \(change) changed: it needs a restart; keeping the running value")
        }
        for gap in pendingBucketGaps where !status.restartRequired.contains(gap.key) {
            logger.warning("\(gap.logLine)")
        }
        status.restartRequired = pendingRestart + pendingBucketGaps.map(\.key)
        // One line per warning, so an expired certificate is seen at each reload, not only at start.
        for warning in Self.labelled(next.warnings, in: next, resources: resources) {
            logger.warning("config warning (\(trigger)): \(warning)")
        }
        status.generation = plan.generation
        status.hash = next.sourceHash
        status.source = next.sourceName
        status.successes += 1
        status.lastSuccess = Date()
        status.lastError = []
        status.lastAttemptSucceeded = true
        logger.info(
            "config reloaded (\(trigger)): generation \(plan.generation), \(next.routes.count) routes, \(next.upstreams.count) upstreams, hash \(next.sourceHash), compiled in \(Self.milliseconds(since: started)) ms"
        )
    }

    /// `warnings` with the entries the Admin API added named as its resources are ("ssls/api: cert"),
    /// the way refusals name them, rather than by their place in the merged configuration.
    static func labelled(_ warnings: [ConfigIssue], in config: GatewayConfig, resources: ResourceSet) -> [ConfigIssue] {
        let sections: [(name: String, kind: AdminResourceKind, ids: [String])] = [
            ("ssls", .ssls, config.ssls.map(\.id)),
            ("upstreams", .upstreams, config.upstreams.map(\.id)),
        ]
        let named = warnings.map { warning in
            var warning = warning
            for section in sections where warning.path.hasPrefix(section.name + "[") {
                let rest = warning.path.dropFirst(section.name.count + 1)
                guard let close = rest.firstIndex(of: "]"), let index = Int(rest[..<close]),
                    index < section.ids.count
                else { continue }
                let id = section.ids[index]
                guard resources.list(section.kind).contains(where: { $0.id == id }) else { continue }
                let inside = rest[rest.index(after: close)...].drop { $0 == "." }
                warning.path = inside.isEmpty ? "\(section.name)/\(id)" : "\(section.name)/\(id): \(inside)"
                warning.line = nil
            }
            return warning
        }
        // The file's entries in line order, then the Admin API's (their lines are inside their JSON).
        return named.enumerated().sorted {
            ($0.element.line ?? Int.max, $0.offset) < ($1.element.line ?? Int.max, $1.offset)
        }.map(\.element)
    }

    func record(failure error: ConfigError, trigger: String, into status: inout ConfigReloadStatus) {
        status.failures += 1
        status.lastAttemptSucceeded = false
        status.lastFailure = Date()
        status.lastError = error.issues.map { "\($0)" }
        logger.error("config reload (\(trigger)) rejected; the running configuration stays")
        for issue in error.issues { logger.error("  \(issue)") }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let value = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return String(format: "%.2f", value)
    }

    /// Keys whose value a running process cannot change (threads, sockets, buffer sizes, metric
    /// families): `requested` gets the running values back, and their names are returned.
    package static func processLevelChanges(running: GatewayConfig, requested: inout GatewayConfig) -> [String] {
        var changed: [String] = []
        func keep<Value: Equatable>(_ key: String, _ path: WritableKeyPath<GatewayConfig, Value>) {
            guard requested[keyPath: path] != running[keyPath: path] else { return }
            changed.append(key)
            requested[keyPath: path] = running[keyPath: path]
        }
        keep("workers", \.workers)
        keep("engine", \.engine)
        keep("listen", \.listen)
        keep("control.listen", \.control.listen)
        keep("admin.listen", \.admin.listen)
        // Sampling applies on reload; the rest of access_log shapes the logger built at start.
        var runningLog = running.accessLog
        runningLog.sampling = requested.accessLog.sampling
        if requested.accessLog != runningLog {
            changed.append("access_log")
            requested.accessLog = runningLog
        }
        // Sampling ratios apply on reload, and so does the exporter's configuration (endpoint, batching,
        // service name, resource attributes: the runtime reconfigures it). The workers' span rings are made
        // at start, though: an exporter cannot be added to a process started without one, nor removed.
        if (running.tracing.otlp == nil) != (requested.tracing.otlp == nil) {
            keep("tracing.otlp", \.tracing.otlp)
        }
        keep("metrics", \.metrics)
        keep("config.store", \.reload.store)
        keep("etcd", \.etcd)
        keep("log_level", \.logLevel)
        keep("limits.max_connections_per_worker", \.limits.maxConnectionsPerWorker)
        keep("limits.max_header_bytes", \.limits.maxHeaderBytes)
        keep("limits.max_header_count", \.limits.maxHeaderCount)
        return changed
    }
}
