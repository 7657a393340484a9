import Foundation
import Yams

extension ConfigReader {
    static let tlsKeys = [
        "protocols", "ciphers", "ciphersuites", "default_ssl", "reject_expired", "session_tickets",
        "session_cache_size", "ktls",
    ]
    static let sslKeys = [
        "id", "snis", "sni", "cert", "key", "cert_file", "key_file", "certs", "keys", "client", "status", "type",
        "name", "desc", "labels", "create_time", "update_time",
    ]

    /// Reads `tls:`.
    mutating func tlsSettings(_ node: Node, into settings: inout TLSSettings) {
        guard let section = fields(node, at: "tls", allowed: Self.tlsKeys) else { return }
        if let value = section["protocols"], let items = list(value, at: "tls.protocols", allowSingle: true) {
            var protocols: Set<TLSProtocolVersion> = []
            for item in items {
                if let version = choice(item.node, at: item.path, as: TLSProtocolVersion.self) {
                    protocols.insert(version)
                }
            }
            if items.isEmpty {
                report("tls.protocols", value, "needs at least one of \"TLSv1.2\", \"TLSv1.3\"")
            } else if protocols.count == Set(items.compactMap { $0.node.string }).count {
                settings.protocols = protocols
            }
        }
        if let value = section["ciphers"], let text = nonEmptyString(value, at: "tls.ciphers") {
            settings.ciphers = text
        }
        if let value = section["ciphersuites"], let text = nonEmptyString(value, at: "tls.ciphersuites") {
            settings.cipherSuites = text
        }
        if let value = section["default_ssl"], let id = nonEmptyString(value, at: "tls.default_ssl") {
            settings.defaultSSL = id
        }
        if let value = section["reject_expired"], let flag = bool(value, at: "tls.reject_expired") {
            settings.rejectExpired = flag
        }
        if let value = section["session_tickets"], let flag = bool(value, at: "tls.session_tickets") {
            settings.sessionTickets = flag
        }
        if let value = section["session_cache_size"],
            let size = int(value, at: "tls.session_cache_size", in: 0...10_000_000)
        {
            settings.sessionCacheSize = size
        }
        if let value = section["ktls"] {
            // YAML 1.1 reads a bare `off` as false (and `on` as true): take them for the setting they spell.
            if value.tagName == .bool, let flag = value.bool {
                settings.kernelTLS = flag ? .auto : .off
            } else if let mode = choice(value, at: "tls.ktls", as: KernelTLSSetting.self) {
                settings.kernelTLS = mode
            }
        }
        // OpenSSL is the judge of cipher strings: a context built with them must accept at least one.
        do {
            _ = try TLSContextBuilder.probe(settings)
        } catch {
            let key = error.message.hasPrefix("tls.ciphersuites") ? "tls.ciphersuites" : "tls.ciphers"
            // The issue's path names the key already.
            let reason =
                error.message.hasPrefix(key + ": ") ? String(error.message.dropFirst(key.count + 2)) : error.message
            report(key, section[key.replacingOccurrences(of: "tls.", with: "")], reason)
        }
    }

    /// Reads `ssls:`: certificates with their SNIs, checked by OpenSSL (PEM, key match, expiry).
    mutating func ssls(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "ssls", allowSingle: false) else { return }
        var firstUse: [String: String] = [:]
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.sslKeys) else { continue }
            var ssl = SSLConfig(id: uniqueIdentifier(object, "id", of: "ssl", at: item.path, firstUse: &firstUse) ?? "")
            ssl.path = item.path
            if let value = object["type"], let type = nonEmptyString(value, at: object.path("type")), type != "server" {
                report(object.path("type"), value, "only \"server\" certificates are served here (got \"\(type)\")")
            }
            if let value = object["status"], let status = int(value, at: object.path("status"), in: 0...1) {
                ssl.enabled = status == 1
            }
            ssl.snis = serverNames(object)
            if let pair = certificatePair(object, certificateKey: "cert", keyKey: "key", required: true) {
                ssl.certificates.append(pair)
            }
            ssl.certificates += extraCertificates(object)
            if let value = object["client"] {
                ssl.client = clientVerification(value, at: object.path("client"))
            }
            descriptive(object)
            checkMaterial(&ssl, object, rejectExpired: config.tls.rejectExpired)
            config.ssls.append(ssl)
        }
    }

    /// `tls.default_ssl` must name an `ssls` entry.
    mutating func checkDefaultSSL(_ node: Node?, in config: GatewayConfig) {
        guard let id = config.tls.defaultSSL, !config.ssls.contains(where: { $0.id == id }) else { return }
        report("tls.default_ssl", node?["default_ssl"], "no ssls entry has the id \"\(id)\"")
    }

    private mutating func serverNames(_ object: ConfigFields) -> [String] {
        var names: [(node: Node, path: String, name: String)] = []
        if let value = object["snis"], let items = list(value, at: object.path("snis"), allowSingle: false) {
            for item in items {
                if let name = nonEmptyString(item.node, at: item.path) { names.append((item.node, item.path, name)) }
            }
        }
        if let value = object["sni"], let name = nonEmptyString(value, at: object.path("sni")) {
            names.append((value, object.path("sni"), name))
        }
        var result: [String] = []
        for (node, path, written) in names {
            let name = written.lowercased()
            let host = name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            let valid =
                !host.isEmpty && host.utf8.count <= 253
                && labels.allSatisfy { label in
                    !label.isEmpty && label.utf8.count <= 63
                        && label.utf8.allSatisfy {
                            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D
                        }
                }
            if !valid {
                report(path, node, "\"\(name)\" is not a host name or a wildcard such as \"*.example.com\"")
            } else if !result.contains(name) {
                result.append(name)
            }
        }
        return result
    }

    /// `cert`/`cert_file` and `key`/`key_file` as PEM text.
    private mutating func certificatePair(
        _ object: ConfigFields,
        certificateKey: String,
        keyKey: String,
        required: Bool
    ) -> SSLCertificatePair? {
        let certificate = pem(object, inline: certificateKey, file: certificateKey + "_file", required: required)
        let key = pem(object, inline: keyKey, file: keyKey + "_file", required: required || certificate != nil)
        guard let certificate, let key else { return nil }
        return SSLCertificatePair(
            certificatePEM: certificate.text,
            keyPEM: key.text,
            certificateOrigin: certificate.origin,
            keyOrigin: key.origin
        )
    }

    /// PEM text from `inline` or from the file named by `file`, exactly one of them.
    private mutating func pem(
        _ object: ConfigFields,
        inline: String,
        file: String,
        required: Bool
    ) -> (text: String, origin: String)? {
        switch (object[inline], object[file]) {
        case (let value?, nil):
            guard let text = nonEmptyString(value, at: object.path(inline)) else { return nil }
            return (text, object.path(inline))
        case (nil, let value?):
            guard let path = nonEmptyString(value, at: object.path(file)) else { return nil }
            do {
                return (try String(contentsOfFile: path, encoding: .utf8), object.path(file))
            } catch {
                report(object.path(file), value, "cannot read \"\(path)\": \(Self.fileError(error, path: path))")
                return nil
            }
        case (_?, _?):
            report(object.path(file), object[file], "give \(inline) or \(file), not both")
            return nil
        case (nil, nil):
            if required { missing(object, inline, " (PEM text, or \(file) with a path)") }
            return nil
        }
    }

    /// APISIX's `certs`/`keys`: more certificate/key pairs (an ECDSA one beside an RSA one), in order.
    private mutating func extraCertificates(_ object: ConfigFields) -> [SSLCertificatePair] {
        guard object["certs"] != nil || object["keys"] != nil else { return [] }
        guard let certsNode = object["certs"], let keysNode = object["keys"] else {
            report(object.path(object["certs"] == nil ? "certs" : "keys"), object.node, "certs and keys go together")
            return []
        }
        guard let certs = list(certsNode, at: object.path("certs"), allowSingle: false),
            let keys = list(keysNode, at: object.path("keys"), allowSingle: false)
        else { return [] }
        guard certs.count == keys.count else {
            report(object.path("keys"), keysNode, "needs one key per certificate in certs (\(certs.count))")
            return []
        }
        var pairs: [SSLCertificatePair] = []
        for (certificate, key) in zip(certs, keys) {
            guard let certificateText = nonEmptyString(certificate.node, at: certificate.path),
                let keyText = nonEmptyString(key.node, at: key.path)
            else { continue }
            pairs.append(
                SSLCertificatePair(
                    certificatePEM: certificateText,
                    keyPEM: keyText,
                    certificateOrigin: certificate.path,
                    keyOrigin: key.path
                )
            )
        }
        return pairs
    }

    private mutating func clientVerification(_ node: Node, at path: String) -> SSLClientVerification? {
        guard
            let object = fields(node, at: path, allowed: ["ca", "ca_file", "depth", "required", "skip_mtls_uri_regex"])
        else { return nil }
        if object["skip_mtls_uri_regex"] != nil {
            report(object.path("skip_mtls_uri_regex"), object["skip_mtls_uri_regex"], "is not supported")
        }
        guard let ca = pem(object, inline: "ca", file: "ca_file", required: true) else { return nil }
        var verification = SSLClientVerification(caPEM: ca.text)
        if let value = object["depth"], let depth = int(value, at: object.path("depth"), in: 0...16) {
            verification.depth = depth
        }
        if let value = object["required"], let required = bool(value, at: object.path("required")) {
            verification.required = required
        }
        do {
            guard try TLSCertificateMaterial.certificateCount(pem: ca.text) > 0 else {
                report(ca.origin, object.node, "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
                return nil
            }
        } catch {
            report(ca.origin, object.node, error.message)
            return nil
        }
        return verification
    }

    /// Parses every pair with OpenSSL: bad PEM, a key that is not the certificate's, and expiry are
    /// reported at the value's key path. An expired certificate is refused under `tls.reject_expired`
    /// and a warning otherwise, as is one expiring within ``expiryNoticeDays``.
    private mutating func checkMaterial(_ ssl: inout SSLConfig, _ object: ConfigFields, rejectExpired: Bool) {
        let now = Int64(Date().timeIntervalSince1970)
        for (index, pair) in ssl.certificates.enumerated() {
            do {
                let material = try TLSCertificateMaterial(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
                if index == 0 { ssl.expiry = material.notAfter }
                if material.notAfter <= now && rejectExpired {
                    report(
                        pair.certificateOrigin,
                        object.node,
                        "the certificate expired at \(Self.utc(material.notAfter)) (tls.reject_expired is on)"
                    )
                } else {
                    expiryWarning(pair.certificateOrigin, object.node, notAfter: material.notAfter, now: now)
                }
            } catch {
                let origin =
                    error.code == .badPEM && error.message.contains("private key")
                    ? pair.keyOrigin : pair.certificateOrigin
                report(origin, object.node, error.message)
            }
        }
    }

    /// A certificate this close to its end gets a warning beside the expired ones.
    static let expiryNoticeDays: Int64 = 7

    /// Warns at `path` when the certificate has expired or expires within ``expiryNoticeDays``.
    mutating func expiryWarning(_ path: String, _ node: Node?, notAfter: Int64, now: Int64) {
        if notAfter <= now {
            warn(path, node, "certificate expired on \(Self.utc(notAfter)) (not after)")
        } else if notAfter - now < Self.expiryNoticeDays * 86_400 {
            let days = (notAfter - now) / 86_400
            let left = days == 0 ? "in less than a day" : "in \(days) day\(days == 1 ? "" : "s")"
            warn(path, node, "certificate expires on \(Self.utc(notAfter)) (not after), \(left)")
        }
    }

    /// Reads an upstream's `tls:`: verification, SNI, trusted CAs and a client certificate for mTLS.
    mutating func upstreamTLS(_ node: Node, at path: String) -> UpstreamConfig.TLS {
        var settings = UpstreamConfig.TLS()
        let keys = [
            "verify", "sni", "ca", "ca_file", "client_cert", "client_key", "client_cert_file", "client_key_file",
        ]
        guard let object = fields(node, at: path, allowed: keys) else { return settings }
        if let value = object["verify"], let verify = bool(value, at: object.path("verify")) {
            settings.verify = verify
        }
        if let value = object["sni"], let name = nonEmptyString(value, at: object.path("sni")) { settings.sni = name }
        if object["ca"] != nil || object["ca_file"] != nil,
            let ca = pem(object, inline: "ca", file: "ca_file", required: true)
        {
            do {
                if try TLSCertificateMaterial.certificateCount(pem: ca.text) == 0 {
                    report(ca.origin, object.node, "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
                } else {
                    settings.caPEM = ca.text
                }
            } catch {
                report(ca.origin, object.node, error.message)
            }
        }
        let hasClient = ["client_cert", "client_key", "client_cert_file", "client_key_file"].contains {
            object[$0] != nil
        }
        if hasClient,
            let pair = certificatePair(object, certificateKey: "client_cert", keyKey: "client_key", required: true)
        {
            do {
                let material = try TLSCertificateMaterial(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
                settings.clientCertificate = pair
                let now = Int64(Date().timeIntervalSince1970)
                expiryWarning(pair.certificateOrigin, object.node, notAfter: material.notAfter, now: now)
            } catch {
                report(pair.certificateOrigin, object.node, error.message)
            }
        }
        return settings
    }

    private static func utc(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// The OS's reason `path` could not be read ("No such file or directory", "Permission denied").
    private static func fileError(_ error: any Error, path: String) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        // Foundation on Linux reports no errno: ask the OS again (a directory opens but does not read).
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        var byte: UInt8 = 0
        guard read(descriptor, &byte, 1) >= 0 else { return String(cString: strerror(errno)) }
        return nsError.localizedDescription
    }
}
