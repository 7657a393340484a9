import CSSL
import Glibc

/// Hands an established server session from OpenSSL to the kernel: both directions' keys into the socket,
/// so the data path becomes plain send/recv.
package enum KernelTLSHandoff {
    /// Both directions' `crypto_info` for one session, as the server installs them.
    package struct Keys: Sendable {
        /// `TLS_TX`: the server's application keys.
        package var transmit: KernelTLSCryptoInfo
        /// `TLS_RX`: the client's application keys.
        package var receive: KernelTLSCryptoInfo
        package var version: KernelTLSProtocol { transmit.version }
        package var cipher: KernelTLSCipher { transmit.cipher }

        /// Overwrites both structs' bytes with zeros.
        package mutating func wipe() {
            transmit.wipe()
            receive.wipe()
        }
    }

    /// Hands the established server session `ssl` on socket `fd` to the kernel.
    ///
    /// Checks the session can go (handshake finished, no record left in OpenSSL's BIOs, a protocol and cipher
    /// kTLS carries, the captured secrets of this very session), derives both directions' keys, then attaches
    /// the tls ULP and installs TX, then RX. The derived key bytes are wiped whatever the outcome; the caller
    /// wipes `secrets` (``KernelTLSSecrets/wipe()``) once it is done with the session.
    ///
    /// Before the call the worker must have completed the send of every record OpenSSL produced (the session
    /// tickets): once TX is installed, the kernel seals whatever is sent. After it, OpenSSL must not touch
    /// the session's records again: the kernel owns both sequences (close_notify goes through the kernel as a
    /// record of type 21).
    ///
    /// - Parameters:
    ///   - ssl: the server `SSL *`.
    ///   - fd: the connection's TCP socket.
    ///   - secrets: the slot ``KernelTLSKeyCapture`` filled during the handshake.
    ///   - transmitSequence: records the server already sealed under its application keys
    ///     (``KernelTLSSequence/transmit``).
    ///   - receiveSequence: records the server already opened under the client's application keys
    ///     (``KernelTLSSequence/receive``).
    /// - Throws: ``KernelTLSError`` with `socketChanged` false when nothing was changed (the session goes on in
    ///   userspace), true once the ULP was attached (close the connection).
    package static func hand(
        ssl: OpaquePointer,
        fd: Int32,
        secrets: UnsafePointer<KernelTLSSecrets>,
        transmitSequence: UInt64,
        receiveSequence: UInt64
    ) throws(KernelTLSError) {
        try checkReady(ssl)
        var keys = try keys(
            ssl: ssl,
            secrets: secrets,
            transmitSequence: transmitSequence,
            receiveSequence: receiveSequence
        )
        defer { keys.wipe() }
        try KernelTLSSocket.enableULP(fd: fd)
        do throws(KernelTLSError) {
            try KernelTLSSocket.install(fd: fd, direction: .transmit, cryptoInfo: keys.transmit)
            try KernelTLSSocket.install(fd: fd, direction: .receive, cryptoInfo: keys.receive)
        } catch {
            var error = error
            error.socketChanged = true
            throw error
        }
    }

    /// Derives both directions' `crypto_info` of the established server session `ssl` from its captured
    /// `secrets`; touches neither the session nor a socket.
    ///
    /// - Throws: ``KernelTLSError`` (`socketChanged` false): `.unsupported` for a protocol or cipher kTLS does
    ///   not carry, `.keyMaterial` when the secrets are missing or belong to another session.
    package static func keys(
        ssl: OpaquePointer,
        secrets: UnsafePointer<KernelTLSSecrets>,
        transmitSequence: UInt64,
        receiveSequence: UInt64
    ) throws(KernelTLSError) -> Keys {
        let (version, cipher) = try negotiated(ssl)
        let clientRandom = try random(ssl, client: true)
        guard secrets.pointee.clientRandomBytes == clientRandom else {
            throw KernelTLSError(
                code: .keyMaterial,
                message: secrets.pointee.clientRandomLength == 0
                    ? "kTLS: no secret was captured for the session (KernelTLSKeyCapture not on its context?)"
                    : "kTLS: the captured secrets belong to another session"
            )
        }
        switch version {
        case .tls13:
            var serverSecret = secrets.pointee.serverTrafficSecretBytes
            var clientSecret = secrets.pointee.clientTrafficSecretBytes
            defer {
                wipe(&serverSecret)
                wipe(&clientSecret)
            }
            guard !serverSecret.isEmpty, !clientSecret.isEmpty else {
                throw KernelTLSError(code: .keyMaterial, message: "kTLS: the key log gave no TLS 1.3 traffic secret")
            }
            let transmit = try KernelTLSKeys.tls13(
                cipher: cipher,
                trafficSecret: serverSecret,
                sequence: transmitSequence
            )
            let receive = try KernelTLSKeys.tls13(
                cipher: cipher,
                trafficSecret: clientSecret,
                sequence: receiveSequence
            )
            return Keys(transmit: transmit, receive: receive)
        case .tls12:
            var masterSecret = secrets.pointee.masterSecretBytes
            defer { wipe(&masterSecret) }
            guard !masterSecret.isEmpty else {
                throw KernelTLSError(code: .keyMaterial, message: "kTLS: the key log gave no TLS 1.2 master secret")
            }
            let serverRandom = try random(ssl, client: false)
            let directions: [(KernelTLSDirection, UInt64)] = [
                (.transmit, transmitSequence), (.receive, receiveSequence),
            ]
            var keys: [KernelTLSCryptoInfo] = []
            for (direction, sequence) in directions {
                keys.append(
                    try KernelTLSKeys.tls12(
                        cipher: cipher,
                        masterSecret: masterSecret,
                        clientRandom: clientRandom,
                        serverRandom: serverRandom,
                        role: .server,
                        direction: direction,
                        sequence: sequence
                    )
                )
            }
            return Keys(transmit: keys[0], receive: keys[1])
        }
    }

    /// The handshake is done and OpenSSL holds no record in either direction: the kernel would otherwise
    /// miss bytes already taken off the socket, or send new records ahead of older ones.
    private static func checkReady(_ ssl: OpaquePointer) throws(KernelTLSError) {
        guard SSL_is_init_finished(ssl) == 1 else {
            throw KernelTLSError(code: .notReady, message: "kTLS: the handshake is not finished")
        }
        let unsent = SSL_get_wbio(ssl).map { gw_bio_pending($0) } ?? 0
        guard unsent == 0 else {
            throw KernelTLSError(code: .notReady, message: "kTLS: \(unsent) bytes of records are still to be sent")
        }
        let unread = SSL_get_rbio(ssl).map { gw_bio_pending($0) } ?? 0
        guard unread == 0, SSL_has_pending(ssl) == 0 else {
            throw KernelTLSError(code: .notReady, message: "kTLS: received bytes are still buffered in OpenSSL")
        }
    }

    /// The negotiated protocol and cipher, refused unless kTLS carries both and the suite's hash is the one
    /// the key schedule assumes.
    private static func negotiated(
        _ ssl: OpaquePointer
    ) throws(KernelTLSError) -> (version: KernelTLSProtocol, cipher: KernelTLSCipher) {
        let protocolName = String(cString: SSL_get_version(ssl))
        guard let suite = SSL_get_current_cipher(ssl) else {
            throw KernelTLSError(code: .notReady, message: "kTLS: the session has no cipher yet")
        }
        let cipherName = String(cString: SSL_CIPHER_get_name(suite))
        let mode = KernelTLSMode.kernel.session(protocolName: protocolName, cipherName: cipherName)
        if case .userspace(let reason) = mode {
            throw KernelTLSError(code: .unsupported, message: "kTLS: \(reason)")
        }
        guard let version = KernelTLSProtocol(name: protocolName), let cipher = KernelTLSCipher(name: cipherName) else {
            throw KernelTLSError(code: .unsupported, message: "kTLS: \(protocolName) \(cipherName) is not supported")
        }
        // The TLS 1.3 HKDF and TLS 1.2 PRF hash is the suite's handshake digest.
        let digestSize = SSL_CIPHER_get_handshake_digest(suite).map { Int(EVP_MD_get_size($0)) } ?? 0
        guard digestSize == (cipher.usesSHA384 ? 48 : 32) else {
            throw KernelTLSError(
                code: .unsupported,
                message: "kTLS: \(cipherName) hashes with a \(digestSize)-byte digest, not the one its cipher implies"
            )
        }
        return (version, cipher)
    }

    /// The session's client or server hello random.
    private static func random(_ ssl: OpaquePointer, client: Bool) throws(KernelTLSError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: KernelTLSSecrets.randomLength)
        let count =
            client
            ? SSL_get_client_random(ssl, &bytes, bytes.count)
            : SSL_get_server_random(ssl, &bytes, bytes.count)
        guard count == bytes.count else {
            throw .length(of: client ? "client random" : "server random", is: count, expected: bytes.count)
        }
        return bytes
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}
