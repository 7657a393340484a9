/// `client-cert-auth` (ours: APISIX has no equivalent): the consumer is the one whose `subject` is the
/// subject of the client certificate the TLS handshake verified (downstream mTLS, `ssls[].client`).
///
/// Subjects are compared in the form the access log's `tls_client_subject` shows: OpenSSL's
/// `X509_NAME_print_ex` with `XN_FLAG_RFC2253` ("O=Example,CN=client-one": RFC 2253 lists the RDNs last
/// first). They are found by hash and confirmed in constant time (``CredentialIndex``), as API keys are.
package final class ClientCertAuthPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "client-cert-auth",
        // Free in APISIX's list between jwe-decrypt (2509) and key-auth (2500): with key-auth on the
        // same route, the certificate is tried first.
        priority: 2505,
        phases: [.rewrite],
        keys: ["anonymous_consumer"],
        consumerKeys: ["subject"],
        readCredential: { settings in
            guard settings.has("subject") else {
                settings.missing("subject")
                return nil
            }
            guard let subject = settings.nonEmptyString("subject") else { return nil }
            guard let printed = printedSubject(subject) else {
                settings.report(
                    "subject",
                    "must be a certificate subject in RFC 2253 form, as the access log's tls_client_subject shows "
                        + "(\"O=Example,CN=client-one\"), not OpenSSL's \"/CN=client-one/O=Example\" form"
                )
                return nil
            }
            return .clientCert(subject: printed)
        },
        compile: { settings in ClientCertAuthPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The consumer requests without a known verified certificate count as, or -1 to reject them.
    private let anonymous: Int32

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        anonymous = AuthenticationSupport.anonymousConsumer(&settings)
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        // Empty for a plain connection, no certificate, or one that failed verification: the worker only
        // passes on subjects of verified certificates.
        let subject = request.clientSubject
        guard subject.count > 0 else { return fallback(request, .reject(401, "Missing client certificate")) }
        let credential = request.consumers.clientSubjects.lookup(subject)
        guard credential >= 0 else { return fallback(request, .reject(401, "Invalid client certificate")) }
        request.authenticate(consumer: request.consumers.credentials[Int(credential)].consumer)
        return .proceed
    }

    /// The anonymous consumer when configured, otherwise `verdict`.
    @inline(__always)
    private func fallback(_ request: PluginRequest, _ verdict: PluginVerdict) -> PluginVerdict {
        guard anonymous >= 0 else { return verdict }
        request.authenticate(consumer: anonymous)
        return .proceed
    }

    /// `subject` as `XN_FLAG_RFC2253` prints it, so a subject written with its UTF-8 characters matches:
    /// OpenSSL escapes every byte above 0x7F as `\XX` (upper-case hex), so those bytes are escaped here,
    /// hex escapes are upper-cased, and a backslash before such a character is dropped. Nil when it cannot
    /// be one: RFC 2253 starts with an attribute type (a keyword or an OID) followed by `=`.
    static func printedSubject(_ subject: String) -> String? {
        let bytes = Array(subject.utf8)
        guard let first = bytes.first, isAlphanumeric(first), bytes.contains(UInt8(ascii: "=")) else { return nil }
        let backslash = UInt8(ascii: "\\")
        var printed: [UInt8] = []
        printed.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 {
                printed += [backslash, hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
                index += 1
            } else if byte == backslash, index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            {
                printed += [backslash, hexDigit(high), hexDigit(low)]
                index += 3
            } else if byte == backslash, index + 1 < bytes.count, bytes[index + 1] >= 0x80 {
                // `\ö` is `ö`, which OpenSSL prints as hex escapes: the next turn adds them.
                index += 1
            } else if byte == backslash, index + 1 < bytes.count {
                // An escaped character ("\,", "\\") stays as written, so `\\` is not read as a hex escape.
                printed += [byte, bytes[index + 1]]
                index += 2
            } else {
                printed.append(byte)
                index += 1
            }
        }
        return String(decoding: printed, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            || byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
