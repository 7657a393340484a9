import Logging

/// A validated gateway configuration: what `gateway run` serves and `/status` reports.
///
/// Built only by ``ConfigLoader``, which checks every value and normalises inline upstreams into
/// ``upstreams`` (with the id `route:<route id>`), so an engine only ever follows ``RouteConfig/upstreamID``.
public struct GatewayConfig: Sendable, Equatable {
    /// Worker threads; 0 means one per CPU core.
    package var workers: Int = 0
    /// The I/O engine: `auto` (io_uring, else epoll with a warning), `io_uring` or `epoll`.
    package var engine: EngineChoice = .auto
    /// Data-plane listening addresses; every worker binds each with SO_REUSEPORT.
    package var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 8080)]
    /// The control plane (`/metrics`, `/healthz`, `/readyz`, `/status`).
    package var control: ControlConfig = ControlConfig()
    /// Access-log settings; the logger itself lives in the AccessLog module.
    package var accessLog: AccessLogSettings = AccessLogSettings()
    /// The `metrics:` section.
    package var metrics: MetricsSettings = MetricsSettings()
    /// Limits and timeouts applied to client connections.
    package var limits: LimitsConfig = LimitsConfig()
    /// Graceful-shutdown settings.
    package var shutdown: ShutdownConfig = ShutdownConfig()
    /// HTTP/2 protections and limits for listeners with `http2: true`.
    package var http2 = HTTP2Settings()
    /// Every upstream: declared ones in file order, then inline route upstreams in route order.
    package var upstreams: [UpstreamConfig] = []
    /// Every route in file order, disabled ones included (routing skips them).
    package var routes: [RouteConfig] = []
    /// Services routes may share (`service_id`), consumers, their credentials and global rules.
    package var services: [ServiceConfig] = []
    package var consumers: [ConsumerConfig] = []
    package var credentials: [CredentialConfig] = []
    package var globalRules: [GlobalRuleConfig] = []
    /// TLS settings for every TLS listener (`tls:`) and the certificates they serve (`ssls:`).
    package var tls: TLSSettings = TLSSettings()
    /// W3C trace context and span export (`tracing:`).
    package var tracing: TracingSettings = TracingSettings()
    package var ssls: [SSLConfig] = []
    /// The least severe level the process's log lines are written at (`log_level`, default `info`).
    package var logLevel: Logger.Level = .info
    /// The Admin API (`admin:`); off unless `admin.listen` is set.
    package var admin: AdminConfig = AdminConfig()
    /// How the configuration file is followed (`config:`).
    package var reload: ReloadSettings = ReloadSettings()
    /// The etcd configuration store (`etcd:`), used when `config.store` is `etcd`.
    package var etcd: EtcdSettings = EtcdSettings()
    /// Where each process-level setting's value came from: the file, a `GATEWAY_*` variable, a flag or the
    /// default (absent means the default).
    package var settingSources: [ProcessSetting: ProcessSetting.Source] = [:]
    /// FNV-1a 64 of the source bytes as 16 lower-case hex digits; identifies the loaded version in `/status`.
    package var sourceHash: String = ""
    /// Where the configuration came from (a file path, or a name given to ``ConfigLoader/parse(yaml:sourceName:resolveHostnames:)``).
    package var sourceName: String = ""
    /// What loads but deserves a look (an expired certificate), each at its key path: `gateway check`
    /// prints them and the gateway logs them at start and at each reload.
    package var warnings: [ConfigIssue] = []

    package init() {}

    /// Whether a data-plane listener speaks TLS.
    package var hasTLSListener: Bool { listen.contains { $0.tls } }

    /// The upstream with this id, if any.
    package func upstream(id: String) -> UpstreamConfig? {
        upstreams.first { $0.id == id }
    }
}

/// Where the control plane listens; `nil` turns it off.
package struct ControlConfig: Sendable, Equatable {
    /// Address of the control-plane HTTP listener.
    package var listen: ListenAddress?

    package init(listen: ListenAddress? = nil) {
        self.listen = listen
    }
}

/// Graceful-shutdown settings (key `shutdown:`).
package struct ShutdownConfig: Sendable, Equatable {
    /// How long in-flight requests may run after SIGTERM/SIGINT before connections are closed.
    package var drainTimeout: Duration = .seconds(30)
    /// How long to keep serving (and accepting) after `/readyz` turns 503 on SIGTERM, so load balancers
    /// stop sending new connections before the listeners close (`shutdown.delay`, default 0).
    package var delay: Duration = .zero

    package init() {}
}
