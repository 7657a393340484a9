/// The points in a request's life where plugins run, in the order they run.
///
/// `rewrite` and `access` run before the upstream is contacted (a plugin may end the request there);
/// `headerFilter` runs when the response head is about to be written (the upstream's, or one the
/// gateway wrote); `log` runs once the response is complete or the client went away.
package enum PluginPhase: UInt8, Sendable, CaseIterable {
    case rewrite, access, headerFilter, log

    /// The phase as a metric label and in documentation: APISIX's names.
    package var name: String {
        switch self {
        case .rewrite: return "rewrite"
        case .access: return "access"
        case .headerFilter: return "header_filter"
        case .log: return "log"
        }
    }
}

/// A set of phases: the ones a plugin implements.
package struct PluginPhases: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let rewrite = PluginPhases(rawValue: 1 << PluginPhase.rewrite.rawValue)
    package static let access = PluginPhases(rawValue: 1 << PluginPhase.access.rawValue)
    package static let headerFilter = PluginPhases(rawValue: 1 << PluginPhase.headerFilter.rawValue)
    package static let log = PluginPhases(rawValue: 1 << PluginPhase.log.rawValue)

    package func contains(_ phase: PluginPhase) -> Bool {
        rawValue & (1 << phase.rawValue) != 0
    }
}
