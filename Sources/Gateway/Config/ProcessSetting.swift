/// A process-level setting: one the environment may override and that only a restart can change.
///
/// `gateway check` prints each one's effective value and where it came from.
package enum ProcessSetting: String, Sendable, Hashable, CaseIterable {
    /// `workers`, overridden by `GATEWAY_WORKERS`.
    case workers
    /// `listen`, overridden by `GATEWAY_LISTEN` (comma-separated for several addresses).
    case listen
    /// `control.listen`, overridden by `GATEWAY_CONTROL_LISTEN`.
    case controlListen = "control.listen"
    /// `admin.listen`, overridden by `GATEWAY_ADMIN_LISTEN`.
    case adminListen = "admin.listen"
    /// `access_log.path`, overridden by `GATEWAY_ACCESS_LOG_PATH`.
    case accessLogPath = "access_log.path"
    /// `log_level`, overridden by `GATEWAY_LOG_LEVEL`.
    case logLevel = "log_level"

    /// Where the effective value of a setting came from.
    package enum Source: String, Sendable, Hashable {
        /// The configuration file.
        case file
        /// A `GATEWAY_*` environment variable.
        case environment = "env"
        /// A command-line flag of `gateway run` (the zero-file quick start).
        case flag
        /// Nobody set it: the built-in default.
        case `default`
    }

    /// The key path in the configuration ("control.listen").
    package var keyPath: String { rawValue }

    /// The keys of ``keyPath``, outermost first.
    package var keys: [String] { rawValue.split(separator: ".").map(String.init) }

    /// The environment variable that overrides this setting.
    package var environmentVariable: String {
        switch self {
        case .workers: "GATEWAY_WORKERS"
        case .listen: "GATEWAY_LISTEN"
        case .controlListen: "GATEWAY_CONTROL_LISTEN"
        case .adminListen: "GATEWAY_ADMIN_LISTEN"
        case .accessLogPath: "GATEWAY_ACCESS_LOG_PATH"
        case .logLevel: "GATEWAY_LOG_LEVEL"
        }
    }
}
