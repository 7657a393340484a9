import Synchronization

/// The APISIX-compatible Admin API as a pure request → response handler (no sockets).
///
/// It serves `routes`, `upstreams`, `services`, `consumers` (with `consumers/{username}/credentials`) and
/// `global_rules` under `/apisix/admin/`, with APISIX v3's envelopes:
///
/// | request | response |
/// | --- | --- |
/// | `GET /{res}` | 200 `{"total": N, "list": [{"key", "value", "createdIndex", "modifiedIndex", "source"}]}` |
/// | `GET /{res}/{id}` | 200 `{"key", "value", "createdIndex", "modifiedIndex", "source"}` |
/// | `PUT /{res}/{id}`, `PUT /{res}` (id in the body) | 201 when new, 200 when replaced; the envelope |
/// | `POST /{res}` | 201 with a generated id; the envelope |
/// | `PATCH /{res}/{id}[/{sub/path}]` | 200; the envelope |
/// | `DELETE /{res}/{id}[?force=true]` | 200 `{"deleted": "1", "key": "/apisix/routes/1"}` |
///
/// - **Order of checks.** The peer must be in `allow` (else 403), then the key must be valid (else 401
///   `{"error_msg": "failed to check token", "description": ...}`; a viewer key on anything but `GET` is a
///   401 too, as in APISIX), then the path must name a resource (else 404 `{"error_msg": ...}`).
/// - **Where resources come from.** Lists and reads cover the file's resources (`fileResources()`, read on
///   every request) and the API's own; every envelope says which with a top-level `"source": "api"|"file"`
///   (outside `value`, so a value read back and written again still validates). File resources are read-only:
///   writing one is a 400 that says it is "defined in FILE". Ids are unique per kind across both sources.
/// - **Lists** show the file's resources first (by id), then the API's by `createdIndex`. `page` and
///   `page_size` apply when both are given, as in APISIX: `page_size` must be 10...500 (else 400), a `page`
///   below 1 is 1; `total` counts every resource, not only the page.
/// - **Writes** build the whole proposed ``ResourceSet`` (revision + 1: `createdIndex` on create,
///   `modifiedIndex` on every write; `create_time` kept, `update_time` set, in unix seconds) and hand it to
///   `apply`; only ``AdminApplyResult/applied`` keeps it. A rejection is a 400 naming every problem, a store
///   failure a 503; either way nothing changes. Writes are serialized: `apply` and `fileResources` run under
///   the API's lock during a write and must not call back into the API.
/// - **Ids** follow APISIX: 1 to 64 letters, digits, `.`, `_`, `-` (a number in a body's `id` counts as its
///   text); a consumer's id is its `username` (1 to 100 letters, digits, `_`, `-`); a credential is stored as
///   `{username}/{id}` and needs its consumer (from either source). A body id that differs from the path's is a
///   400 ("wrong route id", "wrong username"); `POST` with an id is a 400 ("do not need it").
/// - **PATCH** of the whole resource is a JSON merge patch (RFC 7396: `null` removes a member, arrays are
///   replaced); with a sub-path the body replaces the value there (`null` removes it; missing objects on the
///   way are created). The id, `create_time` and `update_time` cannot be patched away.
/// - **DELETE** of an upstream still named by a route's or service's `upstream_id`, or of a service still named
///   by a route's `service_id` (in either source), is a 400 in APISIX's words unless `force=true`; a consumer's
///   credentials are deleted with it.
/// - **Methods** APISIX does not serve for a kind (`POST` of consumers, credentials and global rules; `PATCH`
///   of consumers and credentials) are a 405 whose `error_msg` is APISIX's ("not supported \`POST\` method for
///   consumer").
/// - **Generated ids** (`POST`) are 18-digit numeric strings: unix seconds followed by 8 random digits,
///   zero-padded, unique across both sources.
package final class AdminAPI: Sendable {
    let keyring: AdminKeyring
    let allow: [IPNetwork]
    /// The configuration file's name, as "defined in FILE" errors show it.
    let fileName: String
    let fileResources: @Sendable () -> ResourceSet
    let apply: AdminApply
    /// Unix seconds, for `create_time`, `update_time` and generated ids.
    let now: @Sendable () -> Int64
    /// The API's own resources, as last applied.
    let state: Mutex<ResourceSet>
    /// The resources in force, when something besides this API changes them (the etcd watch); reads
    /// and writes start from it.
    let live: (@Sendable () -> ResourceSet)?

    /// An API that starts with `initial` (the store's content) as its own resources.
    ///
    /// - Parameters:
    ///   - keys: accepted keys (`admin.keys`).
    ///   - allow: client networks served (`admin.allow`).
    ///   - fileName: the configuration file's name, for "defined in FILE" errors.
    ///   - fileResources: the resources the configuration file currently defines.
    ///   - initial: the API's resources at start, as loaded from the store.
    ///   - apply: validates, persists and publishes a proposed set (see ``AdminApply``).
    ///   - now: the current time in unix seconds.
    ///   - live: the resources in force when others change them too (an etcd store); `nil` when only this
    ///     API does.
    package init(
        keys: [AdminConfig.Key],
        allow: [IPNetwork],
        fileName: String,
        fileResources: @escaping @Sendable () -> ResourceSet,
        initial: ResourceSet,
        apply: @escaping AdminApply,
        now: @escaping @Sendable () -> Int64,
        live: (@Sendable () -> ResourceSet)? = nil
    ) {
        self.live = live
        self.keyring = AdminKeyring(keys)
        self.allow = allow
        self.fileName = fileName
        self.fileResources = fileResources
        self.apply = apply
        self.now = now
        self.state = Mutex(initial)
    }

    /// The API's own resources as last applied (what the store holds).
    package var resources: ResourceSet { live?() ?? state.withLock { $0 } }

    /// Answers one Admin API request from `peer`, a 4- or 16-byte IP address in network byte order.
    package func handle(_ request: ControlRequest, peer: [UInt8]) -> ControlResponse {
        guard allow.contains(where: { $0.contains(peer) }) else {
            return .adminError(403, "client address is not allowed to use the Admin API (admin.allow)")
        }
        let query = AdminQuery(request.query)
        if let refusal = authorize(request, query: query) { return refusal }
        guard let path = AdminPath(path: request.path) else {
            return .adminError(404, "not found: \(request.path) is not an Admin API resource")
        }
        switch request.method {
        case .get, .put, .post, .patch, .delete: break
        default: return .adminError(405, "method \(request.method.name) is not supported by the Admin API")
        }
        guard path.kind.supports(request.method) else {
            return .adminError(405, "not supported `\(request.method.name)` method for \(path.kind.noun)")
        }
        if !path.subPath.isEmpty, request.method != .patch {
            return .adminError(404, "not found: \(request.path) is not an Admin API resource")
        }
        switch request.method {
        case .get: return read(path, query: query, showSecrets: role(of: request, query: query) == .admin)
        case .delete: return delete(path, force: query["force"] == "true")
        default: return write(request.method, path, body: request.body)
        }
    }

    /// The role of the request's key (it passed ``authorize(_:query:)``).
    private func role(of request: ControlRequest, query: AdminQuery) -> AdminConfig.Role? {
        let token = [query["api_key"], request.header("x-api-key")].compactMap { $0 }.first { !$0.isEmpty }
        return token.flatMap { keyring.role(of: $0) }
    }

    /// `nil` when the request's key may make it; else the 401.
    private func authorize(_ request: ControlRequest, query: AdminQuery) -> ControlResponse? {
        let token = [query["api_key"], request.header("x-api-key")].compactMap { $0 }.first { !$0.isEmpty }
        guard let token else { return .adminError(401, "failed to check token", description: "missing apikey") }
        switch keyring.role(of: token) {
        case nil:
            return .adminError(401, "failed to check token", description: "wrong apikey")
        case .viewer where request.method != .get:
            return .adminError(401, "failed to check token", description: "invalid method for role viewer")
        case .viewer, .admin:
            return nil
        }
    }
}
