/// Why `gateway rules` could not write a rule file.
package struct SLORuleError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidScale
            case windowTooShort
        }

        private let base: Base

        /// `--window-scale` is not a finite number of at least 1.
        package static let invalidScale = Code(base: .invalidScale)
        /// A window divided by the scale is shorter than a millisecond.
        package static let windowTooShort = Code(base: .windowTooShort)

        package var description: String {
            switch base {
            case .invalidScale: "invalid scale"
            case .windowTooShort: "window too short"
            }
        }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong, for the user.
    package var message: String
    /// The underlying error, when there is one.
    package var cause: (any Error & Sendable)?

    package init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String { message }
}
