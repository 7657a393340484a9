/// One certificate and its private key, as PEM text (read from the file when given as `cert_file`).
package struct SSLCertificatePair: Sendable, Equatable, CustomStringConvertible {
    /// The leaf certificate followed by its chain.
    package var certificatePEM: String
    /// The private key (RSA or EC). Never logged or shown to viewers.
    package var keyPEM: String
    /// Where each came from, for messages: a key path or a file path.
    package var certificateOrigin: String
    package var keyOrigin: String

    package init(certificatePEM: String, keyPEM: String, certificateOrigin: String, keyOrigin: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.certificateOrigin = certificateOrigin
        self.keyOrigin = keyOrigin
    }

    /// Names the origins only, so a printed configuration never carries the key.
    package var description: String { "certificate \(certificateOrigin), key \(keyOrigin)" }
}

/// Client-certificate verification for an `ssls` entry (`client:`, downstream mTLS).
package struct SSLClientVerification: Sendable, Equatable {
    /// CA certificates (PEM) that client certificates must chain to.
    package var caPEM: String
    /// Longest chain accepted (`depth`, default 1 as in APISIX).
    package var depth: Int = 1
    /// Fail the handshake without a valid certificate (`required: true`) instead of answering each request
    /// with 400.
    package var required = false

    package init(caPEM: String, depth: Int = 1, required: Bool = false) {
        self.caPEM = caPEM
        self.depth = depth
        self.required = required
    }
}

/// A certificate resource (`ssls:` entry, `/apisix/admin/ssls/{id}`), shaped like APISIX's.
package struct SSLConfig: Sendable, Equatable {
    package var id: String
    /// Server names it serves: exact (`api.example.com`) or one leading wildcard label (`*.example.com`),
    /// lower-cased.
    package var snis: [String] = []
    /// `cert`/`key` first, then each of `certs`/`keys` (an RSA and an ECDSA certificate may serve together).
    package var certificates: [SSLCertificatePair] = []
    package var client: SSLClientVerification?
    /// `status: 0` disables the entry, as in APISIX.
    package var enabled = true
    /// notAfter of the first certificate, as Unix seconds (filled when the PEM is checked).
    package var expiry: Int64 = 0
    /// The entry's key path in the configuration ("ssls[0]"), for messages.
    package var path: String = ""

    package init(id: String) {
        self.id = id
    }
}
