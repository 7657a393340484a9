import CSSL
import Foundation
import TestSupport
import Testing

@testable import Gateway

/// A real OpenSSL client session and a real server session joined in memory: each side has a read and a
/// write memory BIO, and ``handshake()`` pumps the bytes between them as the network would.
///
/// The server session is the gateway's (its context built by ``TLSContextBuilder`` with
/// ``KernelTLSKeyCapture`` installed) and carries a ``KernelTLSSecrets`` slot at ex_data index 1.
final class KernelTLSSessionPair {
    let server: OpaquePointer
    let client: OpaquePointer
    let secrets: UnsafeMutablePointer<KernelTLSSecrets>
    private let serverIn: OpaquePointer
    private let serverOut: OpaquePointer
    private let clientIn: OpaquePointer
    private let clientOut: OpaquePointer

    /// - Parameters:
    ///   - session: a client session to resume.
    ///   - attachesSecrets: whether the server SSL points at the secrets slot (a session without one is
    ///     ignored by the capture).
    init(
        serverContext: OpaquePointer,
        clientContext: OpaquePointer,
        session: OpaquePointer? = nil,
        attachesSecrets: Bool = true
    ) throws {
        let server = try #require(SSL_new(serverContext))
        let client = try #require(SSL_new(clientContext))
        serverIn = try #require(BIO_new(BIO_s_mem()))
        serverOut = try #require(BIO_new(BIO_s_mem()))
        clientIn = try #require(BIO_new(BIO_s_mem()))
        clientOut = try #require(BIO_new(BIO_s_mem()))
        for bio in [serverIn, clientIn] { _ = gw_bio_set_mem_eof_return(bio, -1) }
        SSL_set_bio(server, serverIn, serverOut)
        SSL_set_bio(client, clientIn, clientOut)
        SSL_set_accept_state(server)
        SSL_set_connect_state(client)
        if let session { SSL_set_session(client, session) }
        secrets = .allocate(capacity: 1)
        secrets.initialize(to: KernelTLSSecrets())
        if attachesSecrets { SSL_set_ex_data(server, KernelTLSKeyCapture.secretsIndex, secrets) }
        self.server = server
        self.client = client
    }

    deinit {
        SSL_free(server)
        SSL_free(client)
        secrets.deinitialize(count: 1)
        secrets.deallocate()
    }

    /// Runs both handshakes to completion, moving every byte each side writes to the other; afterwards no
    /// byte is left in flight (the server's session tickets sit in the client's read BIO).
    func handshake() throws {
        for _ in 0..<32 {
            let clientDone = try step(client)
            var moved = move(from: clientOut, to: serverIn)
            let serverDone = try step(server)
            moved += move(from: serverOut, to: clientIn)
            if clientDone && serverDone && moved == 0 { return }
        }
        Issue.record("the handshake did not finish")
        throw KernelTLSTestError("handshake did not finish")
    }

    /// Advances the server's handshake once with what it has received.
    func serverStep() throws -> Bool { try step(server) }

    /// Seals `text` on the server and returns the records it produced.
    func serverWrite(_ text: String) throws -> [UInt8] {
        try write(text, on: server)
        return drain(serverOut)
    }

    /// Seals `text` on the server, leaving the records in its write BIO.
    func serverWriteWithoutSending(_ text: String) throws { try write(text, on: server) }

    /// Seals `text` on the client and returns the records it produced.
    func clientWrite(_ text: String) throws -> [UInt8] {
        try write(text, on: client)
        return drain(clientOut)
    }

    /// Delivers records to the server without reading them.
    func deliverToServer(_ bytes: [UInt8]) { _ = BIO_write(serverIn, bytes, Int32(bytes.count)) }

    /// Delivers records to the client without reading them.
    func deliverToClient(_ bytes: [UInt8]) { _ = BIO_write(clientIn, bytes, Int32(bytes.count)) }

    /// Opens everything the client has received (session tickets included) and returns the plaintext.
    func clientRead() throws -> [UInt8] { try read(client) }

    /// Opens everything the server has received and returns the plaintext.
    func serverRead() throws -> [UInt8] { try read(server) }

    private func step(_ ssl: OpaquePointer) throws -> Bool {
        let result = SSL_do_handshake(ssl)
        if result == 1 { return true }
        let error = SSL_get_error(ssl, result)
        guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
            throw KernelTLSTestError("handshake failed: \(Self.openSSLErrors())")
        }
        return false
    }

    private func write(_ text: String, on ssl: OpaquePointer) throws {
        let bytes = Array(text.utf8)
        var written = 0
        guard SSL_write_ex(ssl, bytes, bytes.count, &written) == 1, written == bytes.count else {
            throw KernelTLSTestError("SSL_write failed: \(Self.openSSLErrors())")
        }
    }

    private func read(_ ssl: OpaquePointer) throws -> [UInt8] {
        var plaintext: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var count = 0
            if SSL_read_ex(ssl, &buffer, buffer.count, &count) == 1 {
                plaintext += buffer.prefix(count)
                continue
            }
            guard SSL_get_error(ssl, 0) == SSL_ERROR_WANT_READ else {
                throw KernelTLSTestError("SSL_read failed: \(Self.openSSLErrors())")
            }
            return plaintext
        }
    }

    private func move(from source: OpaquePointer, to destination: OpaquePointer) -> Int {
        let bytes = drain(source)
        if !bytes.isEmpty { _ = BIO_write(destination, bytes, Int32(bytes.count)) }
        return bytes.count
    }

    private func drain(_ bio: OpaquePointer) -> [UInt8] {
        let pending = gw_bio_pending(bio)
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let count = BIO_read(bio, &bytes, Int32(pending))
        return Array(bytes.prefix(Int(max(0, count))))
    }

    private static func openSSLErrors() -> String {
        var lines: [String] = []
        var code = ERR_get_error()
        while code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            lines.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            code = ERR_get_error()
        }
        return lines.joined(separator: "; ")
    }
}

extension KernelTLSSessionPair {
    /// A self-signed ECDSA P-256 certificate and key made once per test run by the openssl CLI.
    static let certificate = Task<TLSCertificateMaterial, any Error> {
        let directory = try TestFiles.makeTemporaryDirectory("ktls-handoff")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem")
        let key = directory.appendingPathComponent("key.pem")
        let result = try await Command.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.path,
                "-out", certificate.path, "-days", "1", "-subj", "/CN=ktls.test",
            ],
            in: directory,
            timeout: .seconds(60)
        )
        guard result.exitCode == 0 else { throw KernelTLSTestError("openssl req failed: \(result.log)") }
        return try TLSCertificateMaterial(
            certificatePEM: String(contentsOf: certificate, encoding: .utf8),
            keyPEM: String(contentsOf: key, encoding: .utf8)
        )
    }

    /// A server context as the gateway builds it for `settings`, with the test certificate and the key capture.
    static func serverContext(
        _ settings: TLSSettings = TLSSettings(),
        capture: Bool = true
    ) async throws
        -> OpaquePointer
    {
        let material = try await certificate.value
        let context = try TLSContextBuilder.serverContext(settings, sessionContext: "ktls-test")
        try TLSContextBuilder.use(material, in: context)
        if capture { KernelTLSKeyCapture.install(on: context) }
        return context
    }

    /// A client context that offers only `suite` (an OpenSSL TLS 1.3 suite or TLS 1.2 cipher name) over
    /// `version`, and verifies nothing (the certificate is self-signed).
    static func clientContext(version: KernelTLSProtocol, suite: String) throws -> OpaquePointer {
        let context = try #require(SSL_CTX_new(TLS_client_method()))
        switch version {
        case .tls13:
            _ = gw_ssl_ctx_set_min_proto(context, TLS1_3_VERSION)
            try #require(SSL_CTX_set_ciphersuites(context, suite) == 1)
        case .tls12:
            _ = gw_ssl_ctx_set_max_proto(context, TLS1_2_VERSION)
            try #require(SSL_CTX_set_cipher_list(context, suite) == 1)
        }
        return context
    }
}
