import AccessLog
import CSSL
import Glibc

/// Where a connection's TLS layer is.
package enum TLSPhase: UInt8, Sendable {
    /// Plain HTTP: no TLS layer.
    case none
    /// Handshake records are being exchanged.
    case handshaking
    /// Application data flows; records are sealed and opened in userspace.
    case established
    /// Handed to kernel TLS: the socket carries plaintext both ways, as on a plain connection.
    case kernel

    /// Records are sealed and opened by OpenSSL in userspace.
    @inline(__always)
    package var inUserspace: Bool { self == .handshaking || self == .established }
}

/// What a client certificate check found (downstream mTLS without `client.required`).
package enum TLSClientCertificate: UInt8, Sendable {
    /// Not requested by the connection's certificate entry.
    case notRequested
    case verified
    case missing
    case invalid

    /// Requests on the connection are answered 400.
    @inline(__always)
    package var refused: Bool { self == .missing || self == .invalid }
}

/// One connection's TLS session over memory BIOs: the engine's receives are written into ``readBIO``
/// and what OpenSSL produces is read from ``writeBIO`` and sent by the engine, so no call blocks and no
/// thread is involved.
///
/// Plain data in the worker's slab (zeroed = ``TLSPhase/none``); the worker owns the I/O, this owns the
/// OpenSSL objects between ``start(_:set:)`` and ``close()``.
package struct TLSStream {
    package var ssl: OpaquePointer?
    /// Network to OpenSSL (ciphertext the client sent).
    package var readBIO: OpaquePointer?
    /// OpenSSL to network (ciphertext to send).
    package var writeBIO: OpaquePointer?
    /// A retained ``TLSCertificateSet`` (server: the one SNI is resolved against) or ``TLSClientContext``.
    package var owner: UnsafeMutableRawPointer?
    package var phase: TLSPhase = .none
    /// Set by callbacks to explain a handshake failure OpenSSL reports only as a callback error.
    package var failure: TLSHandshakeResult?
    /// Accepted on a listener with `http2: true`: ALPN offers `h2` before `http/1.1`.
    package var offersHTTP2 = false
    /// The entry chosen by SNI requests client certificates.
    package var verifiesClient = false
    package var clientCertificate: TLSClientCertificate = .notRequested
    /// The session was resumed (ticket or cache).
    package var resumed = false
    package var handshakeStart: UInt64 = 0
    /// Sealed records in flight to the client: a block of the worker's pool and the bytes left in it.
    package var cipherBlock: Int32 = -1
    package var cipherOffset: Int32 = 0
    package var cipherLength: Int32 = 0
    /// Plaintext bytes those records carry (reported to the connection machine once they are sent).
    package var plainInFlight: Int32 = 0
    /// Queued to have buffered input processed on this loop turn.
    package var queued = false
    /// A send of records is posted.
    package var sendPosted = false
    /// The certificate set selected kernel TLS: the session's secrets are being captured.
    package var kernelCapable = false
    /// Kernel TLS takes over once the handshake's records are sent.
    package var handoffPending = false
    /// The verified client certificate's subject (RFC 2253), printed once after the handshake into memory
    /// the stream owns, for plugins (`client-cert-auth`) on every request of the connection.
    package var subjectBytes: UnsafeMutableRawPointer?
    package var subjectLength: Int32 = 0
    /// The access log's interned protocol, cipher and client subject (`.none` until the first request).
    package var protocolSymbol: AccessLogSymbol = .none
    package var cipherSymbol: AccessLogSymbol = .none
    package var subjectSymbol: AccessLogSymbol = .none

    package init() {}

    /// Whether ALPN settled on `h2`.
    package var negotiatedHTTP2: Bool {
        guard let ssl else { return false }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        return length == 2 && data?[0] == 0x68 && data?[1] == 0x32
    }

    /// What a handshake step needs next.
    package enum HandshakeStep: Equatable, Sendable {
        /// Complete: application data may flow.
        case done
        /// More records from the client are needed (send what ``pendingOutput`` holds first).
        case wantRead
        case failed(TLSHandshakeResult)
    }

    /// Sets up a server session on `set`'s front context for the connection; `self` must not move while the session
    /// lives (callbacks find it through the SSL's ex_data).
    package static func start(
        _ stream: UnsafeMutablePointer<TLSStream>,
        set: TLSCertificateSet
    ) -> Bool {
        guard let ssl = SSL_new(set.front) else {
            ERR_clear_error()
            return false
        }
        SSL_set_accept_state(ssl)
        return attach(stream, ssl: ssl, owner: set)
    }

    /// Sets up a client session to an upstream node: SNI and the name verified are `context`'s server
    /// name, else the node's `address`: a host name is sent as SNI and checked against the certificate's
    /// DNS names, an IP literal is checked against its IP addresses (no SNI: RFC 6066 §3 forbids IPs).
    /// False (nothing started) when the name cannot be set, so no session ever runs unverified.
    package static func startClient(
        _ stream: UnsafeMutablePointer<TLSStream>,
        context: TLSClientContext,
        address: String
    ) -> Bool {
        guard let ssl = SSL_new(context.context) else {
            ERR_clear_error()
            return false
        }
        SSL_set_connect_state(ssl)
        guard name(ssl, context: context, address: address) else {
            SSL_free(ssl)
            ERR_clear_error()
            return false
        }
        return attach(stream, ssl: ssl, owner: context)
    }

    /// Sets the SNI and the verified name or address of a client session (see ``startClient(_:context:address:)``).
    private static func name(_ ssl: OpaquePointer, context: TLSClientContext, address: String) -> Bool {
        let host = context.serverName ?? address
        if context.serverName == nil && isIPLiteral(host) {
            guard context.verify else { return true }
            guard let parameters = SSL_get0_param(ssl) else { return false }
            return X509_VERIFY_PARAM_set1_ip_asc(parameters, host) == 1
        }
        // A trailing dot (fully qualified) is neither sent nor part of certificate names.
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        guard !name.isEmpty, gw_ssl_set_host_name(ssl, name) == 1 else { return false }
        return !context.verify || SSL_set1_host(ssl, name) == 1
    }

    /// Whether `host` is an IPv4 or IPv6 literal (without brackets).
    package static func isIPLiteral(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }

    /// Gives `ssl` its memory BIOs and `stream` the session (and a reference to `owner`); frees `ssl` when
    /// the BIOs cannot be made.
    private static func attach(_ stream: UnsafeMutablePointer<TLSStream>, ssl: OpaquePointer, owner: AnyObject) -> Bool
    {
        guard let input = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            ERR_clear_error()
            return false
        }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            SSL_free(ssl)
            ERR_clear_error()
            return false
        }
        // An empty read BIO means "wait for more", not end of stream.
        _ = gw_bio_set_mem_eof_return(input, -1)
        SSL_set_bio(ssl, input, output)
        stream.initialize(to: TLSStream())
        stream.pointee.ssl = ssl
        stream.pointee.readBIO = input
        stream.pointee.writeBIO = output
        stream.pointee.owner = Unmanaged.passRetained(owner).toOpaque()
        stream.pointee.phase = .handshaking
        SSL_set_ex_data(ssl, 0, UnsafeMutableRawPointer(stream))
        return true
    }

    /// Frees the session. Idempotent.
    ///
    /// A session whose handshake completed stays resumable however the connection ends. SSL_free drops
    /// the session from the cache when no close_notify was sent (`ssl_clear_bad_session`), which is how
    /// most connections end here: the client left mid-response, a send failed, a timeout fired, or the
    /// records went to the kernel. RFC 5246 §7.2.1 no longer asks for that, a fatal alert has already
    /// removed it, and nginx marks the shutdown done the same way before freeing.
    package mutating func close() {
        if let subjectBytes { free(subjectBytes) }
        subjectBytes = nil
        subjectLength = 0
        if let ssl {
            if phase == .established || phase == .kernel {
                SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_SENT_SHUTDOWN)
            }
            SSL_free(ssl)
        }
        if let owner { Unmanaged<AnyObject>.fromOpaque(owner).release() }
        ssl = nil
        readBIO = nil
        writeBIO = nil
        owner = nil
        phase = .none
    }

    /// Hands `bytes` received from the client to OpenSSL.
    @inline(__always)
    package func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0 else { return true }
        return BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count)) == Int32(bytes.count)
    }

    /// Advances the handshake with what has been fed.
    package mutating func handshake() -> HandshakeStep {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            phase = .established
            resumed = SSL_session_reused(ssl) == 1
            if verifiesClient {
                if SSL_get0_peer_certificate(ssl) == nil {
                    clientCertificate = .missing
                } else {
                    clientCertificate = SSL_get_verify_result(ssl) == X509_V_OK ? .verified : .invalid
                }
                if clientCertificate == .verified, let subject = clientSubject,
                    let memory = malloc(max(1, subject.utf8.count))
                {
                    subject.utf8.withContiguousStorageIfAvailable { bytes in
                        memory.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    }
                    subjectBytes = memory
                    subjectLength = Int32(subject.utf8.count)
                }
            }
            return .done
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        default:
            let error = ERR_peek_error()
            ERR_clear_error()
            if let failure { return .failed(failure) }
            guard error != 0 else { return .failed(.protocolError) }
            return .failed(TLSHandshakeResult.classify(library: ERR_GET_LIB(error), reason: ERR_GET_REASON(error)))
        }
    }

    /// What ``read(into:)`` found.
    package enum ReadResult: Equatable, Sendable {
        /// Plaintext bytes were written.
        case bytes(Int)
        /// Nothing complete yet: receive more.
        case wantRead
        /// The client sent close_notify.
        case closed
        /// A bad record, or a renegotiation attempt: close.
        case failed
    }

    /// Opens records into `buffer`, as many as fit.
    @inline(__always)
    package func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        var total = 0
        while total < buffer.count {
            var count = 0
            let ok = SSL_read_ex(ssl, buffer.baseAddress! + total, buffer.count - total, &count)
            if ok == 1 {
                total += count
                continue
            }
            let error = SSL_get_error(ssl, 0)
            if total > 0 {
                if error != SSL_ERROR_WANT_READ { ERR_clear_error() }
                return .bytes(total)
            }
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
            case SSL_ERROR_ZERO_RETURN: return .closed
            default:
                ERR_clear_error()
                return .failed
            }
        }
        return .bytes(total)
    }

    /// Whether OpenSSL holds input not yet returned by ``read(into:)`` (opened plaintext, or whole or
    /// partial records).
    @inline(__always)
    package var hasBufferedInput: Bool {
        SSL_has_pending(ssl) == 1 || gw_bio_pending(readBIO) > 0
    }

    /// Seals `bytes` into records waiting in the write BIO. Memory BIOs always take everything.
    @inline(__always)
    package func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var written = 0
        return SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written) == 1 && written == bytes.count
    }

    /// Sealed bytes waiting to be sent.
    @inline(__always)
    package var pendingOutput: Int { gw_bio_pending(writeBIO) }

    /// Moves up to `buffer.count` sealed bytes out of the write BIO.
    @inline(__always)
    package func drainOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = BIO_read(writeBIO, buffer.baseAddress, Int32(buffer.count))
        return count > 0 ? Int(count) : 0
    }

    /// Queues close_notify in the write BIO (sent with whatever is pending); with kernel TLS the close
    /// goes without it (OpenSSL no longer owns the records).
    package func shutdown() {
        guard phase == .established else { return }
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The negotiated version; `unknown` while none is agreed (OpenSSL creates the session when it
    /// picks the version, and reports its highest enabled one before that).
    package var protocolLabel: TLSProtocolLabel {
        guard let ssl, let session = SSL_get_session(ssl) else { return .unknown }
        return TLSProtocolLabel(version: SSL_SESSION_get_protocol_version(session))
    }

    /// The negotiated cipher's OpenSSL name; a static string, so its address identifies it.
    package var cipherName: UnsafePointer<CChar>? {
        guard let ssl, let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return SSL_CIPHER_get_name(cipher)
    }

    /// The verified client certificate's subject as bytes (empty without one).
    @inline(__always)
    package var subject: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: subjectBytes, count: Int(subjectLength))
    }

    /// The verified client certificate's subject in RFC 2253 form ("CN=client,O=Example").
    package var clientSubject: String? {
        guard clientCertificate == .verified, let ssl, let certificate = SSL_get0_peer_certificate(ssl),
            let name = X509_get_subject_name(certificate), let bio = BIO_new(BIO_s_mem())
        else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, gw_xn_flag_rfc2253()) >= 0 else { return nil }
        let length = gw_bio_pending(bio)
        guard length > 0 else { return "" }
        var bytes = [UInt8](repeating: 0, count: length)
        let read = BIO_read(bio, &bytes, Int32(length))
        return String(decoding: bytes.prefix(Int(max(0, read))), as: UTF8.self)
    }
}
