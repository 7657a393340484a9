import CSSL
import Glibc

/// Fills each session's ``KernelTLSSecrets`` during the handshake from OpenSSL's key log, and counts the
/// TLS 1.3 session tickets it writes, so the established session can be handed to the kernel.
///
/// The slot is found through the SSL's ex_data index 1 (``secretsIndex``), an
/// `UnsafeMutablePointer<KernelTLSSecrets>` the worker sets when it creates the session; a session without one
/// is ignored, so the callbacks cost nothing to sessions that stay in userspace beyond a lookup.
package enum KernelTLSKeyCapture {
    /// The SSL ex_data index that points at the session's ``KernelTLSSecrets`` (index 0 is its TLSStream).
    package static let secretsIndex: Int32 = 1

    /// Sets the key log and message callbacks on `context`.
    ///
    /// Install on every context a session can end on: the front context and each certificate's. OpenSSL calls
    /// the key log callback of the SSL's current context, and the SNI callback moves the session to its
    /// certificate's context (`SSL_set_SSL_CTX`) before any secret is derived. The message callback is copied
    /// into the SSL when it is created, so the front context's is the one that counts.
    package static func install(on context: OpaquePointer) {
        SSL_CTX_set_keylog_callback(context, keylog)
        SSL_CTX_set_msg_callback(context, message)
    }

    /// The key log callback (`SSL_CTX_keylog_cb_func`): keeps the application traffic secrets (TLS 1.3) and
    /// the master secret (TLS 1.2) in the session's slot.
    ///
    /// OpenSSL 3.0 logs `SERVER_TRAFFIC_SECRET_0` when the server switches to its application keys after its
    /// Finished, `CLIENT_TRAFFIC_SECRET_0` when it has read the client's Finished, and a TLS 1.2 session's
    /// `CLIENT_RANDOM` line when it builds its Finished (full and resumed handshakes alike). The handshake
    /// secrets and exporter lines are skipped before any parsing.
    package static let keylog: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void = { ssl, line in
        guard let ssl, let line, let slot = SSL_get_ex_data(ssl, KernelTLSKeyCapture.secretsIndex) else { return }
        guard KernelTLSKeyCapture.wanted(line), let entry = KernelTLSKeyLog(line: String(cString: line)) else {
            return
        }
        slot.assumingMemoryBound(to: KernelTLSSecrets.self).pointee.record(entry)
    }

    /// The message callback (`SSL_CTX_set_msg_callback`): counts the TLS 1.3 NewSessionTicket messages the
    /// server writes. OpenSSL writes each post-handshake message as a record of its own, so this is the number
    /// of records already protected with the server's application keys when the handshake returns.
    package static let message: MessageCallback = { written, version, contentType, bytes, count, ssl, _ in
        // Called for every record header and message until the handoff: the cheap tests go first.
        guard written == 1, contentType == SSL3_RT_HANDSHAKE, version == TLS1_3_VERSION, count > 0, let bytes,
            Int32(bytes.load(as: UInt8.self)) == SSL3_MT_NEWSESSION_TICKET, let ssl,
            let slot = SSL_get_ex_data(ssl, KernelTLSKeyCapture.secretsIndex)
        else { return }
        let secrets = slot.assumingMemoryBound(to: KernelTLSSecrets.self)
        if secrets.pointee.ticketsSent < .max { secrets.pointee.ticketsSent += 1 }
    }

    /// OpenSSL's message callback: `(write_p, version, content_type, buf, len, ssl, arg)`.
    package typealias MessageCallback =
        @convention(c) (Int32, Int32, Int32, UnsafeRawPointer?, Int, OpaquePointer?, UnsafeMutableRawPointer?) -> Void

    /// The labels kept, with the space that ends them, so a longer label sharing the prefix is not taken.
    private static let labels: [StaticString] = [
        "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 ", "CLIENT_RANDOM ",
    ]

    /// Whether `line` starts with a kept label: a comparison of a few bytes, no allocation.
    private static func wanted(_ line: UnsafePointer<CChar>) -> Bool {
        for label in labels {
            let matched = label.withUTF8Buffer { prefix in
                prefix.withMemoryRebound(to: CChar.self) { strncmp(line, $0.baseAddress!, prefix.count) == 0 }
            }
            if matched { return true }
        }
        return false
    }
}
