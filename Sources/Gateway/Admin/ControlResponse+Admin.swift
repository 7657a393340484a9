extension ControlResponse {
    /// An Admin API response: `value` as compact JSON, `Content-Type: application/json`.
    package static func admin(_ status: Int, _ value: AdminJSON) -> ControlResponse {
        .json(status, value.encoded)
    }

    /// An Admin API error in APISIX's shape: `{"error_msg": "..."}`, plus `description` when given.
    package static func adminError(_ status: Int, _ message: String, description: String? = nil) -> ControlResponse {
        var body: [String: AdminJSON] = ["error_msg": .string(message)]
        if let description { body["description"] = .string(description) }
        return .admin(status, .object(body))
    }

    /// APISIX's (etcd's) answer for a resource that does not exist: 404 `{"message": "Key not found"}`.
    package static var adminKeyNotFound: ControlResponse {
        .admin(404, .object(["message": .string("Key not found")]))
    }
}
