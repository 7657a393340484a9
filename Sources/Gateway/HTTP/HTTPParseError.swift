/// Why a head or body was rejected, with the status the gateway should answer with.
///
/// Request errors carry 400, 414, 431, 501 or 505. Response-head errors carry 502: the upstream
/// broke the protocol. Body-framing errors carry 400; the proxy maps those on an upstream body to 502
/// or a close.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The status to answer with.
    package var status: Int
    /// The machine-readable cause.
    package var reason: Reason

    package init(status: Int, reason: Reason) {
        self.status = status
        self.reason = reason
    }

    public var description: String {
        "HTTPParseError(\(status), \(reason.name))"
    }

    /// A closed set of causes, each with a stable label for metrics and logs.
    package enum Reason: UInt8, Sendable, CaseIterable {
        case badRequestLine
        case badStatusLine
        case badVersion
        case requestLineTooLong
        case headerTooLarge
        case tooManyHeaders
        case invalidHeaderName
        case whitespaceBeforeColon
        case obsFold
        case bareCR
        case bareLF
        case invalidHeaderValue
        case missingHost
        case duplicateHost
        case invalidHost
        case clAndTE
        case duplicateContentLength
        case invalidContentLength
        case unsupportedTransferEncoding
        case invalidChunk
        case chunkLineTooLong
        case trailerTooLarge
        case pathTraversal
        case badTarget
        case methodNotImplemented

        /// Stable snake_case label.
        package var name: StaticString {
            switch self {
            case .badRequestLine: return "bad_request_line"
            case .badStatusLine: return "bad_status_line"
            case .badVersion: return "bad_version"
            case .requestLineTooLong: return "request_line_too_long"
            case .headerTooLarge: return "header_too_large"
            case .tooManyHeaders: return "too_many_headers"
            case .invalidHeaderName: return "invalid_header_name"
            case .whitespaceBeforeColon: return "whitespace_before_colon"
            case .obsFold: return "obs_fold"
            case .bareCR: return "bare_cr"
            case .bareLF: return "bare_lf"
            case .invalidHeaderValue: return "invalid_header_value"
            case .missingHost: return "missing_host"
            case .duplicateHost: return "duplicate_host"
            case .invalidHost: return "invalid_host"
            case .clAndTE: return "cl_and_te"
            case .duplicateContentLength: return "duplicate_content_length"
            case .invalidContentLength: return "invalid_content_length"
            case .unsupportedTransferEncoding: return "unsupported_transfer_encoding"
            case .invalidChunk: return "invalid_chunk"
            case .chunkLineTooLong: return "chunk_line_too_long"
            case .trailerTooLarge: return "trailer_too_large"
            case .pathTraversal: return "path_traversal"
            case .badTarget: return "bad_target"
            case .methodNotImplemented: return "method_not_implemented"
            }
        }

        /// The status for this cause in a request head.
        package var requestStatus: Int {
            switch self {
            case .requestLineTooLong: return 414
            case .headerTooLarge, .tooManyHeaders: return 431
            case .badVersion: return 505
            case .methodNotImplemented: return 501
            default: return 400
            }
        }
    }

    @inline(__always)
    static func request(_ reason: Reason) -> HTTPParseError {
        HTTPParseError(status: reason.requestStatus, reason: reason)
    }

    @inline(__always)
    static func response(_ reason: Reason) -> HTTPParseError {
        HTTPParseError(status: 502, reason: reason)
    }

    @inline(__always)
    static func body(_ reason: Reason) -> HTTPParseError {
        HTTPParseError(status: 400, reason: reason)
    }
}
