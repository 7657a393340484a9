import CSSL
import Glibc
import Synchronization

/// The server session cache of clients that resume by session id (TLS 1.2 without tickets): one store
/// for the whole process, behind a lock, that every worker and every plan's contexts use through
/// OpenSSL's external-cache callbacks.
///
/// OpenSSL's own cache lives in one `SSL_CTX`, so it would be shared by the workers but emptied by every
/// reload (each plan builds new contexts, and an Admin API write is a reload). Sessions are kept
/// serialized (DER), at most ``capacity`` of them, oldest dropped first, each until its timeout. The lock
/// is taken only in handshakes that make or resume such a session, never on a request.
package final class TLSSessionCache: Sendable {
    /// The process's cache.
    package static let shared = TLSSessionCache()

    private struct Entry {
        var der: [UInt8]
        /// Unix seconds after which the session is not resumed.
        var expires: Int64
        /// Position in insertion order (the key in `order` that holds this id).
        var sequence: UInt64
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        /// Session ids by insertion sequence, for dropping the oldest; stale sequences are skipped.
        var order: [(sequence: UInt64, id: [UInt8])] = []
        var orderStart = 0
        var nextSequence: UInt64 = 0
        var capacity = 20480
    }

    private let state = Mutex(State())

    package init() {}

    /// The number of sessions held.
    package var count: Int { state.withLock { $0.entries.count } }

    /// Most sessions held (`tls.session_cache_size`); the latest plan's setting applies.
    package var capacity: Int {
        get { state.withLock { $0.capacity } }
        set { state.withLock { $0.capacity = max(1, newValue) } }
    }

    /// Keeps the session `der` under `id` until `expires` (Unix seconds).
    package func store(id: [UInt8], der: [UInt8], expires: Int64) {
        state.withLock { state in
            let sequence = state.nextSequence
            state.nextSequence &+= 1
            state.entries[id] = Entry(der: der, expires: expires, sequence: sequence)
            state.order.append((sequence, id))
            while state.entries.count > state.capacity, state.orderStart < state.order.count {
                let oldest = state.order[state.orderStart]
                state.orderStart += 1
                if state.entries[oldest.id]?.sequence == oldest.sequence { state.entries[oldest.id] = nil }
            }
            // Compact the order list once most of it is stale.
            if state.orderStart > 1024 && state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
                state.order.removeAll { state.entries[$0.id]?.sequence != $0.sequence }
            }
        }
    }

    /// The session stored under `id`, if it has not expired at `now`.
    package func lookup(id: [UInt8], now: Int64) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.entries[id] else { return nil }
            guard entry.expires > now else {
                state.entries[id] = nil
                return nil
            }
            return entry.der
        }
    }

    package func remove(id: [UInt8]) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Drops every session (tests).
    package func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.order.removeAll()
            state.orderStart = 0
        }
    }

    /// Makes `context` (a server context) keep its sessions here instead of in itself.
    package static func install(on context: OpaquePointer) {
        _ = gw_ssl_ctx_set_session_cache_mode(
            context,
            Int(SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL)
        )
        SSL_CTX_sess_set_new_cb(context, newSession)
        SSL_CTX_sess_set_get_cb(context, getSession)
        SSL_CTX_sess_set_remove_cb(context, removeSession)
    }

    private static func id(of session: OpaquePointer) -> [UInt8]? {
        var length: UInt32 = 0
        guard let bytes = SSL_SESSION_get_id(session, &length), length > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(length)))
    }

    /// A session was made by a full handshake: serialize and keep it. Returns 0: OpenSSL keeps no
    /// reference for us.
    private static let newSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { _, session in
        // TLS 1.3 resumes only with tickets (stateless here); OpenSSL reports each ticket's session anyway.
        guard let session, SSL_SESSION_get_protocol_version(session) != TLS1_3_VERSION,
            let id = TLSSessionCache.id(of: session)
        else { return 0 }
        let length = i2d_SSL_SESSION(session, nil)
        guard length > 0 else { return 0 }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_SSL_SESSION(session, &cursor)
        }
        guard written == length else { return 0 }
        let expires = Int64(SSL_SESSION_get_time(session)) + Int64(SSL_SESSION_get_timeout(session))
        TLSSessionCache.shared.store(id: id, der: der, expires: expires)
        return 0
    }

    /// A client offers session `id`: a fresh copy of it, or nil (full handshake). OpenSSL still checks
    /// the copy's session id context (the certificate entry) and timeout.
    private static let getSession:
        @convention(c) (OpaquePointer?, UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<Int32>?) -> OpaquePointer? =
            { _, bytes, length, copy in
                // The copy is ours to give away: OpenSSL must not take another reference.
                copy?.pointee = 0
                guard let bytes, length > 0 else { return nil }
                let id = Array(UnsafeBufferPointer(start: bytes, count: Int(length)))
                guard let der = TLSSessionCache.shared.lookup(id: id, now: Int64(time(nil))) else { return nil }
                return der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
                    var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
                    let session = d2i_SSL_SESSION(nil, &cursor, buffer.count)
                    if session == nil { ERR_clear_error() }
                    return session
                }
            }

    /// OpenSSL dropped a session (expired, or its connection failed with a fatal alert).
    private static let removeSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void = { _, session in
        guard let session, let id = TLSSessionCache.id(of: session) else { return }
        TLSSessionCache.shared.remove(id: id)
    }
}
