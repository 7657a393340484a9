/// A request to the control plane (`/metrics`, `/healthz`, `/readyz`, `/status`, admin API).
///
/// The control plane is not a hot path, so this is plain Swift values.
package struct ControlRequest: Sendable {
    package var method: HTTPMethod
    package var path: String
    package var query: String
    /// Header names lowercased.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// The client's address (nil when unknown).
    package var peer: SocketAddress? = nil

    /// The first value of header `name` (lowercase).
    package func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// A control-plane response.
package struct ControlResponse: Sendable {
    package var status: Int
    package var contentType: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(status: Int, contentType: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A JSON response from already-encoded bytes.
    package static func json(_ status: Int, _ body: [UInt8]) -> ControlResponse {
        ControlResponse(status: status, contentType: "application/json", body: body)
    }

    /// A small JSON error body.
    package static func error(_ status: Int, _ message: String) -> ControlResponse {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return .json(status, Array("{\"error\":\"\(escaped)\",\"status\":\(status)}".utf8))
    }
}

/// Answers control-plane requests; runs on the control thread.
package typealias ControlHandler = @Sendable (ControlRequest) -> ControlResponse
