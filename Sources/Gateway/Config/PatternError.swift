/// Why a route pattern was rejected.
package struct PatternError: Error, Sendable, Equatable {
    /// What is wrong, phrased to follow the key path in a config issue.
    package var reason: String

    package init(_ reason: String) {
        self.reason = reason
    }
}
