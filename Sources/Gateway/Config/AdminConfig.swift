/// The Admin API (key `admin:`): its own listener, the keys it accepts, the client networks it serves and where
/// the resources created through it are kept.
///
/// Off unless ``listen`` is set; with ``listen`` set, at least one key is required (the gateway refuses to start
/// without one).
package struct AdminConfig: Sendable, Equatable {
    /// What a key may do.
    package enum Role: String, Sendable, Equatable, CaseIterable {
        /// Read and write every resource.
        case admin
        /// Only `GET`.
        case viewer
    }

    /// One accepted key, sent as the `X-API-KEY` header or the `api_key` query argument.
    package struct Key: Sendable, Equatable {
        /// The secret itself: printable ASCII without spaces.
        package var key: String
        /// What requests carrying it may do.
        package var role: Role

        package init(key: String, role: Role) {
            self.key = key
            self.role = role
        }
    }

    /// Address of the Admin API listener (`admin.listen`); `nil`, the default, turns the API off.
    package var listen: ListenAddress?
    /// Accepted keys (`admin.keys`), in file order; none are equal.
    package var keys: [Key] = []
    /// Client networks the listener serves (`admin.allow`); loopback only by default.
    package var allow: [IPNetwork] = IPNetwork.loopback
    /// File holding the resources created through the API (`admin.data_path`), relative to the working
    /// directory unless absolute.
    package var dataPath: String = "data/resources.json"

    package init() {}
}
