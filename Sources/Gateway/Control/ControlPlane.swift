import Foundation
import Glibc

/// The control-plane endpoints: `/healthz`, `/readyz`, `/status`, `/metrics` when a renderer is set, and
/// the live status page `/` with its data, `/status/traffic`.
package final class ControlPlane: Sendable {
    /// The plan serving new requests (it changes with every reload).
    package var plan: ProxyPlan { currentPlan() }
    private let currentPlan: @Sendable () -> ProxyPlan
    /// What reloads have done (nil: this gateway does not reload).
    private let reloadStatus: @Sendable () -> ConfigReloadStatus?
    package let control: WorkerControl
    /// The I/O engine in use, and why io_uring was not used when `auto` fell back.
    package let engine: EngineSelection
    private let startedAt: Date
    private let loadedAt: Date
    /// Renders `/metrics` from the scraper's Accept and Accept-Encoding headers.
    package typealias MetricsRenderer = @Sendable (_ accept: String?, _ acceptEncoding: String?) -> ControlResponse
    private let metrics: MetricsRenderer?
    /// The health controller's view of every upstream node.
    package typealias HealthSnapshot = @Sendable () -> [NodeHealthSnapshot]
    private let health: HealthSnapshot
    /// Per upstream (config order), whether it is in panic.
    package typealias PanicSnapshot = @Sendable () -> [Bool]
    private let panics: PanicSnapshot
    /// Keeps the previous traffic readings for `/status/traffic` (nil: no metrics, no rates).
    private let traffic: TrafficSampler?
    /// The etcd configuration store's state (nil: the store is the local file).
    private let configStore: @Sendable () -> ConfigStoreStatus?

    package init(
        plan: ProxyPlan,
        control: WorkerControl,
        engine: EngineSelection,
        health: @escaping HealthSnapshot = { [] },
        panics: @escaping PanicSnapshot = { [] },
        metrics: MetricsRenderer? = nil,
        current: (@Sendable () -> ProxyPlan)? = nil,
        reloads: @escaping @Sendable () -> ConfigReloadStatus? = { nil },
        traffic: TrafficSampler? = nil,
        configStore: @escaping @Sendable () -> ConfigStoreStatus? = { nil }
    ) {
        self.configStore = configStore
        currentPlan = current ?? { plan }
        reloadStatus = reloads
        self.control = control
        self.engine = engine
        self.health = health
        self.panics = panics
        startedAt = Date()
        loadedAt = Date()
        self.metrics = metrics
        self.traffic = traffic
    }

    /// Routes a control request.
    package func handle(_ request: ControlRequest) -> ControlResponse {
        guard request.method == .get || request.method == .head else {
            return .error(405, "method not allowed")
        }
        switch request.path {
        case "/healthz":
            return .json(200, Array("{\"status\":\"ok\"}".utf8))
        case "/readyz":
            return readiness()
        case "/status":
            return status()
        case "/status/traffic":
            return trafficStatus()
        case "/":
            return StatusPage.response
        case "/metrics":
            guard let metrics else { return .error(404, "metrics are not enabled") }
            return metrics(request.header("accept"), request.header("accept-encoding"))
        default:
            return .error(404, "unknown control endpoint")
        }
    }

    /// "api" for a resource created through the Admin API, "file" for one from the configuration
    /// (inline upstreams, `route:<id>`/`service:<id>`, go with their route or service).
    private static func source(of id: String, kind: String, in reloads: ConfigReloadStatus?) -> String {
        guard let api = reloads?.apiResources else { return "file" }
        if api[kind]?.contains(id) == true { return "api" }
        if id.hasPrefix("route:"), api["routes"]?.contains(String(id.dropFirst(6))) == true { return "api" }
        if id.hasPrefix("service:"), api["services"]?.contains(String(id.dropFirst(8))) == true { return "api" }
        return "file"
    }

    private func readiness() -> ControlResponse {
        var reasons: [String] = []
        if control.isShuttingDown { reasons.append("shutting down") }
        for worker in 0..<control.workerCount where !control.isRunning(worker: worker) {
            reasons.append("worker \(worker) is not running")
        }
        // Every upstream a route uses needs at least one node whose circuit is not open, unless its
        // panic threshold keeps sending traffic to the nodes anyway.
        let used = Set(plan.config.routes.filter(\.enabled).compactMap(\.upstreamID))
        let nodes = health()
        for upstream in plan.config.upstreams where used.contains(upstream.id) && upstream.panicThreshold == 0 {
            let mine = nodes.filter { $0.upstreamID == upstream.id }
            if !mine.isEmpty && mine.allSatisfy({ $0.circuit == .open }) {
                reasons.append("every node of upstream \(upstream.id) has an open circuit")
            }
        }
        if reasons.isEmpty {
            return .json(200, encode(["status": "ready"]))
        }
        return .json(503, encode(["status": "not ready", "reasons": reasons]))
    }

    private func status() -> ControlResponse {
        .json(200, encode(statusBody()))
    }

    /// `/status` plus `traffic` (rates over the last interval, per route) and `slo`, for the status page
    /// and `gateway top`.
    private func trafficStatus() -> ControlResponse {
        var body = statusBody()
        var connections = 0
        for worker in 0..<control.workerCount {
            connections += control.connections(worker: worker)
        }
        var entry: [String: Any] = ["connections_active": connections]
        let config = plan.config
        let objectives = SLORuleGenerator(config: config).objectives.objectives
        var slos: [SLOStatus]
        if let traffic {
            // One reading serves both the rates and the SLO figures, so they cover the same interval.
            let (baseline, current) = traffic.readings()
            let report = TrafficReport(from: baseline, to: current, order: config.routes.map(\.id))
            entry.merge(Self.json(report)) { _, new in new }
            slos = SLOStatus.all(objectives, from: baseline, to: current)
        } else {
            slos = objectives.map { SLOStatus(objective: $0, note: "metrics are not enabled: nothing is counted") }
        }
        body["traffic"] = entry
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let since = formatter.string(from: startedAt)
        body["slo"] = slos.map { Self.json($0, since: since) }
        return .json(200, encode(body))
    }

    private func statusBody() -> [String: Any] {
        let plan = self.plan
        let config = plan.config
        var workers: [[String: Any]] = []
        for worker in 0..<control.workerCount {
            workers.append([
                "id": worker,
                "running": control.isRunning(worker: worker),
                "connections": control.connections(worker: worker),
            ])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let snapshot = health()
        let reloads = reloadStatus()
        var upstreams: [[String: Any]] = []
        let panicking = panics()
        for (index, upstream) in config.upstreams.enumerated() {
            let nodes = upstream.nodes.map { node -> [String: Any] in
                var entry: [String: Any] = ["node": node.address, "weight": node.weight]
                if let state = snapshot.first(where: { $0.upstreamID == upstream.id && $0.node == node.address }) {
                    entry["healthy"] = state.healthy
                    entry["circuit"] = state.circuit.rawValue
                    entry["available"] = state.availability == .available
                    entry["since"] = formatter.string(from: state.since)
                    entry["last_transition_reason"] = state.lastTransitionReason
                    entry["recent"] = [
                        "successes": state.recent.successes,
                        "connect_failures": state.recent.connectFailures,
                        "timeouts": state.recent.timeouts,
                        "http_failures": state.recent.httpFailures,
                    ]
                    entry["transitions"] = state.transitions
                    entry["active_checks"] = state.activeChecks
                    entry["active_check_failures"] = state.activeCheckFailures
                }
                return entry
            }
            upstreams.append([
                "id": upstream.id, "type": upstream.type.rawValue, "nodes": nodes,
                "panic": index < panicking.count && panicking[index], "panic_threshold": upstream.panicThreshold,
                "source": Self.source(of: upstream.id, kind: "upstreams", in: reloads),
            ])
        }
        let routes = config.routes.map { route -> [String: Any] in
            var entry: [String: Any] = [
                "id": route.id, "uris": route.uris, "enabled": route.enabled,
                "source": Self.source(of: route.id, kind: "routes", in: reloads),
            ]
            if let upstream = route.upstreamID { entry["upstream"] = upstream }
            if let service = route.serviceID { entry["service"] = service }
            return entry
        }
        let resources = Self.resourceEntries(config, reloads: reloads)
        var configEntry: [String: Any] = [
            "source": config.sourceName,
            "hash": config.sourceHash,
            "loaded_at": formatter.string(from: loadedAt),
            "routes": config.routes.count,
            "upstreams": config.upstreams.count,
            "generation": plan.generation,
        ]
        var restartRequired: [String] = []
        if let reloads {
            configEntry["loaded_at"] = formatter.string(from: reloads.lastSuccess)
            configEntry["reloads"] = ["success": reloads.successes, "failure": reloads.failures]
            configEntry["last_reload_error"] = reloads.lastError.isEmpty ? NSNull() : reloads.lastError as Any
            if let failed = reloads.lastFailure {
                configEntry["last_reload_failure_at"] = formatter.string(from: failed)
            }
            restartRequired = reloads.restartRequired
        }
        var body: [String: Any] = [
            "version": GatewayVersion.string,
            "engine": engine.kind.rawValue,
            "engine_configured": config.engine.rawValue,
            "uptime_seconds": Date().timeIntervalSince(startedAt),
            "draining": control.isDraining,
            "config": configEntry,
            "restart_required": restartRequired,
            "workers": workers,
            "upstreams": upstreams,
            "routes": routes,
        ]
        body.merge(resources) { _, new in new }
        if let reason = engine.fallbackReason { body["engine_fallback_reason"] = reason }
        if let store = configStore() { body["config_store"] = Self.storeEntry(store) }
        return body
    }

    /// `services`, `consumers` (with their credentials), `global_rules` and `ssls` (names and dates, never
    /// certificates or keys), each entry with its `source`; `/status` is not behind the Admin API's keys,
    /// so no secret (a consumer's key, a certificate's private key) appears.
    private static func resourceEntries(_ config: GatewayConfig, reloads: ConfigReloadStatus?) -> [String: Any] {
        let services = config.services.map { service -> [String: Any] in
            var entry: [String: Any] = [
                "id": service.id,
                "plugins": service.plugins.map(\.name).sorted(),
                "source": source(of: service.id, kind: "services", in: reloads),
            ]
            if let upstream = service.upstreamID { entry["upstream"] = upstream }
            return entry
        }
        let consumers = config.consumers.map { consumer -> [String: Any] in
            let credentials = config.credentials.filter { $0.consumer == consumer.username }.map { credential in
                [
                    "id": credential.id,
                    "source": source(of: "\(consumer.username)/\(credential.id)", kind: "credentials", in: reloads),
                ]
            }
            return [
                "username": consumer.username,
                "plugins": consumer.plugins.map(\.name).sorted(),
                "credentials": credentials,
                "source": source(of: consumer.username, kind: "consumers", in: reloads),
            ]
        }
        let globalRules = config.globalRules.map { rule -> [String: Any] in
            [
                "id": rule.id,
                "plugins": rule.plugins.map(\.name).sorted(),
                "source": source(of: rule.id, kind: "global_rules", in: reloads),
            ]
        }
        let ssls = config.ssls.map { ssl -> [String: Any] in
            var entry: [String: Any] = [
                "id": ssl.id,
                "snis": ssl.snis,
                "enabled": ssl.enabled,
                "certificates": ssl.certificates.count,
                "client_verification": ssl.client != nil,
                "source": source(of: ssl.id, kind: "ssls", in: reloads),
            ]
            if ssl.expiry > 0 { entry["not_after"] = ssl.expiry }
            return entry
        }
        return ["services": services, "consumers": consumers, "global_rules": globalRules, "ssls": ssls]
    }

    /// `config_store`: `{"type": "etcd", "up", "revision", "endpoint", "rejected": [{"key", "reason", ...}], ...}`.
    private static func storeEntry(_ store: ConfigStoreStatus) -> [String: Any] {
        [
            "type": store.type,
            "up": store.up,
            "revision": store.revision,
            "endpoint": store.endpoint,
            "watch_restarts": store.watchRestarts,
            "resyncs": store.resyncs,
            "from_cache": store.fromCache,
            "last_error": store.lastError.isEmpty ? NSNull() : store.lastError as Any,
            "rejected": store.rejected.map { rejection -> [String: Any] in
                [
                    "key": rejection.key, "kind": rejection.kind.rawValue, "id": rejection.id,
                    "reason": rejection.reason.rawValue, "detail": rejection.detail,
                    "serving_previous": rejection.servingPrevious,
                ]
            },
        ]
    }

    private func encode(_ object: Any) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }
}
