import Foundation

/// What the reload path has done so far, for `/status` and the `gateway_config_*` metrics.
package struct ConfigReloadStatus: Sendable {
    /// Generation of the plan serving new requests (0: the one the process started with).
    package var generation: UInt64 = 0
    /// FNV-1a of the configuration source in use.
    package var hash = ""
    /// Where the configuration in use came from.
    package var source = ""
    package var successes: UInt64 = 0
    package var failures: UInt64 = 0
    /// When the configuration in use was loaded (at start, or the last successful reload).
    package var lastSuccess = Date()
    /// When the last reload failed, and every problem it found ("key.path: reason").
    package var lastFailure: Date?
    package var lastError: [String] = []
    /// The latest reload attempt succeeded (true at start).
    package var lastAttemptSucceeded = true
    /// Ids of the resources created through the Admin API, by kind (`routes`, `upstreams`...); every
    /// other resource comes from the configuration file.
    package var apiResources: [String: Set<String>] = [:]
    /// Process-level keys a reload asked to change: they keep their running values until a restart.
    package var restartRequired: [String] = []

    package init() {}
}
