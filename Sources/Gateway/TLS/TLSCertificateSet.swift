import CSSL
import Glibc

/// The server certificates of one plan, compiled into OpenSSL contexts, and the SNI choice between them.
///
/// Connections start on ``front`` (protocol settings, session cache and tickets, no certificate); the
/// server-name callback moves each to the context of the entry its SNI selects: an exact name, then a
/// wildcard (`*.example.com` matches one label), then `tls.default_ssl`. Every connection holds a
/// reference to its set until it closes, so a reload that swaps certificates never pulls them from
/// under a handshake in progress; established connections keep the contexts they use.
package final class TLSCertificateSet: @unchecked Sendable {
    /// One `ssls` entry.
    package struct Entry: @unchecked Sendable {
        package var id: String
        package var snis: [String]
        package var context: OpaquePointer
        /// notAfter of each certificate, Unix seconds.
        package var expiries: [Int64]
        /// Client certificates are requested.
        package var verifiesClients: Bool
    }

    package let front: OpaquePointer
    package let entries: [Entry]
    private let exact: [String: Int]
    private let wildcard: [String: Int]
    private let fallback: Int?
    /// Established sessions go to the kernel (`tls.ktls: auto` on a kernel with the `tls` ULP): the
    /// contexts capture the traffic secrets for it.
    package let kernelTLS: Bool

    /// Compiles the enabled entries of `ssls` with `settings`. Errors carry the entry's key path.
    package init(ssls: [SSLConfig], settings: TLSSettings, sourceName: String = "") throws(ConfigError) {
        var entries: [Entry] = []
        var exact: [String: Int] = [:]
        var wildcard: [String: Int] = [:]
        var issues: [ConfigIssue] = []
        for ssl in ssls where ssl.enabled {
            do throws(TLSError) {
                let context = try TLSContextBuilder.serverContext(settings, sessionContext: Self.sessionContext(ssl))
                var expiries: [Int64] = []
                do throws(TLSError) {
                    for pair in ssl.certificates {
                        let material = try TLSCertificateMaterial(
                            certificatePEM: pair.certificatePEM,
                            keyPEM: pair.keyPEM
                        )
                        try TLSContextBuilder.use(material, in: context)
                        expiries.append(material.notAfter)
                    }
                    if let client = ssl.client { try TLSContextBuilder.requireClientCertificates(client, in: context) }
                } catch {
                    SSL_CTX_free(context)
                    throw error
                }
                let index = entries.count
                entries.append(
                    Entry(
                        id: ssl.id,
                        snis: ssl.snis,
                        context: context,
                        expiries: expiries,
                        verifiesClients: ssl.client != nil
                    )
                )
                for sni in ssl.snis {
                    if sni.hasPrefix("*.") {
                        if wildcard[String(sni.dropFirst(2))] == nil { wildcard[String(sni.dropFirst(2))] = index }
                    } else if exact[sni] == nil {
                        exact[sni] = index
                    }
                }
            } catch {
                issues.append(ConfigIssue(path: ssl.path.isEmpty ? "ssls" : ssl.path, line: nil, reason: error.message))
            }
        }
        let front: OpaquePointer
        do throws(TLSError) {
            front = try TLSContextBuilder.serverContext(settings, sessionContext: "gw")
        } catch {
            issues.append(ConfigIssue(path: "tls", line: nil, reason: error.message))
            for entry in entries { SSL_CTX_free(entry.context) }
            throw ConfigError(code: .invalid, issues: issues, sourceName: sourceName)
        }
        guard issues.isEmpty else {
            SSL_CTX_free(front)
            for entry in entries { SSL_CTX_free(entry.context) }
            throw ConfigError(code: .invalid, issues: issues, sourceName: sourceName)
        }
        SSL_CTX_set_client_hello_cb(front, Self.selectCertificate, nil)
        let kernel = KernelTLSSupport.mode(setting: settings.kernelTLS) == .kernel
        if kernel {
            // The key log runs on the session's current context, which SNI may have switched.
            KernelTLSKeyCapture.install(on: front)
            for entry in entries { KernelTLSKeyCapture.install(on: entry.context) }
        }
        kernelTLS = kernel
        TLSSessionCache.shared.capacity = settings.sessionCacheSize
        self.front = front
        self.entries = entries
        self.exact = exact
        self.wildcard = wildcard
        fallback = settings.defaultSSL.flatMap { id in entries.firstIndex { $0.id == id } }
    }

    deinit {
        SSL_CTX_free(front)
        for entry in entries { SSL_CTX_free(entry.context) }
    }

    /// What a session of `ssl` vouches for: the entry, its certificates and its client-certificate
    /// policy. Sessions outlive reloads, so one made under other certificates or another policy must not
    /// resume (a session made before `client.required` would skip the client certificate).
    static func sessionContext(_ ssl: SSLConfig) -> String {
        var text = "gw\u{0}" + ssl.id
        for pair in ssl.certificates { text += "\u{0}" + pair.certificatePEM }
        if let client = ssl.client {
            text += "\u{0}client\u{0}\(client.caPEM)\u{0}\(client.depth)\u{0}\(client.required)"
        }
        return text
    }

    /// The entry serving `serverName` (nil: no SNI sent): exact, then wildcard, then the default.
    package func entry(for serverName: String?) -> Int? {
        guard var name = serverName, !name.isEmpty else { return fallback }
        name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if let index = exact[name] { return index }
        if let dot = name.firstIndex(of: "."), let index = wildcard[String(name[name.index(after: dot)...])] {
            return index
        }
        return fallback
    }

    /// OpenSSL's ClientHello callback: switch the connection to the chosen entry's context before
    /// anything else happens (session resumption looks sessions up under that entry's id), or refuse the
    /// handshake with `unrecognized_name` when nothing serves the name.
    private static let selectCertificate:
        @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = {
            ssl,
            alert,
            _ in
            guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return SSL_CLIENT_HELLO_ERROR }
            let stream = raw.assumingMemoryBound(to: TLSStream.self)
            guard let owner = stream.pointee.owner else { return SSL_CLIENT_HELLO_ERROR }
            let set = unsafeDowncast(
                Unmanaged<AnyObject>.fromOpaque(owner).takeUnretainedValue(),
                to: TLSCertificateSet.self
            )
            guard let index = set.entry(for: serverName(ssl)) else {
                stream.pointee.failure = .noCertificate
                alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
                return SSL_CLIENT_HELLO_ERROR
            }
            let context = set.entries[index].context
            guard SSL_set_SSL_CTX(ssl, context) != nil else { return SSL_CLIENT_HELLO_ERROR }
            // SSL_set_SSL_CTX moves the certificate and session id context only; the client-certificate
            // policy is per entry too.
            SSL_set_verify(ssl, SSL_CTX_get_verify_mode(context), SSL_CTX_get_verify_callback(context))
            SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(context))
            stream.pointee.verifiesClient = set.entries[index].verifiesClients
            return SSL_CLIENT_HELLO_SUCCESS
        }

    /// The host name of the ClientHello's server_name extension (RFC 6066 §3), nil when absent or malformed.
    private static func serverName(_ ssl: OpaquePointer) -> String? {
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_server_name), &data, &length) == 1, let data,
            length >= 5
        else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: length)
        let listLength = Int(bytes[0]) << 8 | Int(bytes[1])
        guard listLength + 2 <= length, bytes[2] == 0 else { return nil }
        let nameLength = Int(bytes[3]) << 8 | Int(bytes[4])
        guard nameLength > 0, 5 + nameLength <= length else { return nil }
        return String(decoding: bytes[5..<(5 + nameLength)], as: UTF8.self)
    }
}
