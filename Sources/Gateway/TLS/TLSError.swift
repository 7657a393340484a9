import CSSL

/// Why TLS material or a TLS context could not be set up.
package struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case badPEM, keyMismatch, context
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The text is not a PEM certificate or key OpenSSL can read.
        package static let badPEM = Code(.badPEM)
        /// The private key does not belong to the certificate.
        package static let keyMismatch = Code(.keyMismatch)
        /// OpenSSL refused a setting or could not allocate a context.
        package static let context = Code(.context)
        package var description: String { "\(value)" }
    }

    package var code: Code
    /// What is wrong, phrased to follow a key path; includes OpenSSL's reason when it gave one.
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `message` followed by the reason OpenSSL queued for the failed call, draining its error queue.
    package static func openSSL(_ code: Code, _ message: String) -> TLSError {
        TLSError(code, message + TLSError.drainReason())
    }

    package var description: String { message }

    /// OpenSSL's last queued reason (": reason"), or "" when none; the queue is left empty either way
    /// so a later failure on this thread is not blamed on this one.
    package static func drainReason() -> String {
        var last: UInt = 0
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            last = code
        }
        guard last != 0, let reason = ERR_reason_error_string(last) else { return "" }
        return ": " + String(cString: reason)
    }
}
