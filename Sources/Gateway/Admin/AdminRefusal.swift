/// A request the Admin API refuses, carrying the response that says why.
///
/// The handler's steps throw it; ``AdminAPI/handle(_:peer:)`` answers with ``response``.
struct AdminRefusal: Error {
    /// The error response, already in APISIX's shape.
    var response: ControlResponse

    init(_ response: ControlResponse) {
        self.response = response
    }

    /// 400 `{"error_msg": message}`.
    static func badRequest(_ message: String) -> AdminRefusal {
        AdminRefusal(.adminError(400, message))
    }

    /// The resource does not exist: 404 `{"message": "Key not found"}`.
    static var keyNotFound: AdminRefusal { AdminRefusal(.adminKeyNotFound) }
}
