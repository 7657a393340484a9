import Synchronization

/// etcd v3 through its HTTP/JSON gateway: range, put, delete, compare-and-swap transactions, watches and
/// authentication.
///
/// Every call blocks its thread (control-plane threads only, never a worker) for at most `etcd.timeout`
/// per endpoint. A call that cannot reach a member tries the next one in turn, starting from the one that
/// last answered. With `etcd.user` set it authenticates first and sends the token in `Authorization`;
/// an "invalid auth token" answer authenticates again once and repeats the call.
package final class EtcdClient: Sendable {
    package let settings: EtcdSettings
    private struct State {
        var token: String?
        /// The endpoint that answered last: tried first.
        var preferred = 0
    }
    private let state = Mutex(State())

    package init(settings: EtcdSettings) {
        self.settings = settings
    }

    /// The endpoint calls go to first (the last one that answered).
    package var currentEndpoint: EtcdSettings.Endpoint {
        settings.endpoints[state.withLock { $0.preferred } % settings.endpoints.count]
    }

    /// The result of a range: the store's revision when it was read, and the keys in it.
    package struct RangeResult: Sendable, Equatable {
        package var revision: Int64
        package var kvs: [EtcdKeyValue]
    }

    /// Every key under `prefix` (a prefix range), with the store's revision.
    package func range(prefix: String, timeout: Duration? = nil) throws(EtcdError) -> RangeResult {
        let body: AdminJSON = .object([
            "key": .string(EtcdCoding.encode(prefix)),
            "range_end": .string(EtcdCoding.encode(EtcdCoding.rangeEnd(ofPrefix: prefix))),
        ])
        let answer = try call("/v3/kv/range", body, timeout: timeout)
        var kvs: [EtcdKeyValue] = []
        if case .array(let items)? = answer["kvs"] {
            for item in items { kvs.append(try EtcdKeyValue(json: item)) }
        }
        return RangeResult(revision: Self.revision(of: answer), kvs: kvs)
    }

    /// One key, or nil when it does not exist.
    package func get(_ key: String) throws(EtcdError) -> EtcdKeyValue? {
        let answer = try call("/v3/kv/range", .object(["key": .string(EtcdCoding.encode(key))]))
        guard case .array(let items)? = answer["kvs"], let first = items.first else { return nil }
        return try EtcdKeyValue(json: first)
    }

    /// Writes `value` at `key`; returns the revision of the write.
    @discardableResult
    package func put(_ key: String, _ value: [UInt8]) throws(EtcdError) -> Int64 {
        let body: AdminJSON = .object([
            "key": .string(EtcdCoding.encode(key)), "value": .string(EtcdCoding.encode(value)),
        ])
        return Self.revision(of: try call("/v3/kv/put", body))
    }

    /// Deletes `key`; returns the revision of the delete and how many keys went.
    @discardableResult
    package func delete(_ key: String) throws(EtcdError) -> (revision: Int64, deleted: Int64) {
        let answer = try call("/v3/kv/deleterange", .object(["key": .string(EtcdCoding.encode(key))]))
        return (Self.revision(of: answer), EtcdCoding.int64(answer["deleted"]))
    }

    /// Runs `txn`; returns whether its comparisons held (and its writes ran) and the store's revision after it.
    package func txn(_ txn: EtcdTxn) throws(EtcdError) -> (succeeded: Bool, revision: Int64) {
        let answer = try call("/v3/kv/txn", txn.json)
        let succeeded: Bool
        if case .bool(let value)? = answer["succeeded"] { succeeded = value } else { succeeded = false }
        return (succeeded, Self.revision(of: answer))
    }

    /// Opens a watch of every key under `prefix` from `revision` (inclusive) on the first member that answers.
    package func watch(prefix: String, from revision: Int64) throws(EtcdError) -> EtcdWatchStream {
        let request: AdminJSON = .object([
            "create_request": .object([
                "key": .string(EtcdCoding.encode(prefix)),
                "range_end": .string(EtcdCoding.encode(EtcdCoding.rangeEnd(ofPrefix: prefix))),
                "start_revision": .string(String(revision)),
                "progress_notify": .bool(true),
            ])
        ])
        return try withEndpoints(timeout: nil) { endpoint, token, deadline throws(EtcdError) in
            let connection = try EtcdConnection(endpoint: endpoint, deadline: deadline)
            let head = try connection.post("/v3/watch", body: request.encoded, token: token, deadline: deadline)
            guard head.status == 200 else {
                let body = (try? connection.readBody(head, deadline: deadline)) ?? []
                throw Self.serverError(status: head.status, body: body, endpoint: endpoint)
            }
            return EtcdWatchStream(connection: connection, head: head)
        }
    }

    /// POSTs `body` to `path` and returns the JSON answer.
    func call(_ path: String, _ body: AdminJSON, timeout: Duration? = nil) throws(EtcdError) -> AdminJSON {
        let bytes = body.encoded
        return try withEndpoints(timeout: timeout) { endpoint, token, deadline throws(EtcdError) in
            let connection = try EtcdConnection(endpoint: endpoint, deadline: deadline)
            defer { connection.close() }
            let head = try connection.post(path, body: bytes, token: token, deadline: deadline)
            let answer = try connection.readBody(head, deadline: deadline)
            guard head.status == 200 else {
                throw Self.serverError(status: head.status, body: answer, endpoint: endpoint)
            }
            do {
                return try AdminJSONParser.parse(answer)
            } catch {
                throw EtcdError(.protocolViolation, "\(endpoint)\(path) answered with invalid JSON", cause: error)
            }
        }
    }

    /// Runs `body` against each endpoint in turn until one answers; authenticates when a user is set.
    private func withEndpoints<T>(
        timeout: Duration?,
        _ body: (EtcdSettings.Endpoint, String?, ContinuousClock.Instant) throws(EtcdError) -> T
    ) throws(EtcdError) -> T {
        let endpoints = settings.endpoints
        let first = state.withLock { $0.preferred }
        var failures: [String] = []
        var lastError: EtcdError?
        for offset in 0..<endpoints.count {
            let index = (first + offset) % endpoints.count
            let endpoint = endpoints[index]
            let deadline = ContinuousClock.now + (timeout ?? settings.timeout)
            do throws(EtcdError) {
                var token = try self.token(endpoint: endpoint, deadline: deadline, renew: false)
                let result: T
                do throws(EtcdError) {
                    result = try body(endpoint, token, deadline)
                } catch  where error.code == .authentication && settings.user != nil {
                    token = try self.token(endpoint: endpoint, deadline: deadline, renew: true)
                    result = try body(endpoint, token, deadline)
                }
                state.withLock { $0.preferred = index }
                return result
            } catch  where error.code == .unreachable || error.code == .timeout {
                failures.append("\(endpoint): \(error.message)")
                lastError = error
            }
        }
        let code = lastError?.code ?? .unreachable
        throw EtcdError(code, "no etcd endpoint answered (\(failures.joined(separator: "; ")))", cause: lastError)
    }

    /// The auth token (nil without `etcd.user`), fetched from `/v3/auth/authenticate` when missing or `renew`.
    private func token(
        endpoint: EtcdSettings.Endpoint,
        deadline: ContinuousClock.Instant,
        renew: Bool
    ) throws(EtcdError) -> String? {
        guard let user = settings.user else { return nil }
        if !renew, let token = state.withLock({ $0.token }) { return token }
        let connection = try EtcdConnection(endpoint: endpoint, deadline: deadline)
        defer { connection.close() }
        let request: AdminJSON = .object(["name": .string(user), "password": .string(settings.password ?? "")])
        let head = try connection.post("/v3/auth/authenticate", body: request.encoded, token: nil, deadline: deadline)
        let answer = try connection.readBody(head, deadline: deadline)
        guard head.status == 200, let token = (try? AdminJSONParser.parse(answer))?["token"]?.string else {
            // Never the password: only who was refused.
            let reason = Self.serverError(status: head.status, body: answer, endpoint: endpoint).message
            throw EtcdError(.authentication, "etcd refused user \(user) at \(endpoint): \(reason)")
        }
        state.withLock { $0.token = token }
        return token
    }

    /// An error answer: `{"error": "...", "code": N, "message": "..."}`.
    static func serverError(status: Int, body: [UInt8], endpoint: EtcdSettings.Endpoint) -> EtcdError {
        let json = try? AdminJSONParser.parse(body)
        let message =
            json?["message"]?.string ?? json?["error"]?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
        if message.contains("compacted") { return EtcdError(.compacted, message) }
        if message.contains("auth token") || message.contains("user name is empty")
            || message.contains("authentication failed")
        {
            return EtcdError(.authentication, message)
        }
        if status == 503 || status == 502 {
            return EtcdError(.unreachable, "\(endpoint) answered \(status): \(message)")
        }
        return EtcdError(.server, "\(endpoint) answered \(status): \(message)")
    }

    static func revision(of answer: AdminJSON) -> Int64 {
        EtcdCoding.int64(answer["header"]?["revision"])
    }
}
