/// Every problem found in a configuration, each with its key path and line.
///
/// The loader never stops at the first problem: one run of `gateway check` lists them all.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unreadable
            case syntax
            case invalid
        }

        private let base: Base

        /// The file could not be read.
        package static let unreadable = Code(base: .unreadable)
        /// The text is not well-formed YAML.
        package static let syntax = Code(base: .syntax)
        /// The YAML is well-formed but values are wrong, missing or unknown.
        package static let invalid = Code(base: .invalid)

        package var description: String {
            switch base {
            case .unreadable: "unreadable"
            case .syntax: "syntax"
            case .invalid: "invalid"
            }
        }
    }

    /// The kind of failure.
    package var code: Code
    /// Every problem, in the order found.
    package var issues: [ConfigIssue]
    /// The file path or source name.
    package var sourceName: String
    /// The underlying error, when there is one (a file-system or YAML error).
    package var cause: (any Error & Sendable)?

    package init(code: Code, issues: [ConfigIssue], sourceName: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.issues = issues
        self.sourceName = sourceName
        self.cause = cause
    }

    /// One line per issue: `path: reason (line N)`.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}

/// One problem at one key path.
package struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// Key path such as "routes[1].upstream_id" or `upstreams[0].nodes["10.0.0.1:80"]`; "(root)" for the document.
    package var path: String
    /// 1-based line of the offending node, when known.
    package var line: Int?
    /// 1-based column, for YAML syntax errors.
    package var column: Int?
    /// What is wrong and, where it helps, what to write instead.
    package var reason: String

    package init(path: String, line: Int?, column: Int? = nil, reason: String) {
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// `path: reason (line N)` or `path: reason (line N, column M)`.
    package var description: String {
        guard let line else { return "\(path): \(reason)" }
        guard let column else { return "\(path): \(reason) (line \(line))" }
        return "\(path): \(reason) (line \(line), column \(column))"
    }
}
