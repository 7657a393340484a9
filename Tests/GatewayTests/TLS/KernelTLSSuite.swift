import Testing

@testable import Gateway

/// One negotiated suite: the protocol, the cipher the kernel would get, and the OpenSSL name the client offers.
struct KernelTLSSuite: Sendable, CustomTestStringConvertible {
    var version: KernelTLSProtocol
    var cipher: KernelTLSCipher
    var name: String

    var testDescription: String { name }

    static let all = [
        KernelTLSSuite(version: .tls13, cipher: .aes128GCM, name: "TLS_AES_128_GCM_SHA256"),
        KernelTLSSuite(version: .tls13, cipher: .aes256GCM, name: "TLS_AES_256_GCM_SHA384"),
        KernelTLSSuite(version: .tls13, cipher: .chacha20Poly1305, name: "TLS_CHACHA20_POLY1305_SHA256"),
        KernelTLSSuite(version: .tls12, cipher: .aes128GCM, name: "ECDHE-ECDSA-AES128-GCM-SHA256"),
        KernelTLSSuite(version: .tls12, cipher: .aes256GCM, name: "ECDHE-ECDSA-AES256-GCM-SHA384"),
        KernelTLSSuite(version: .tls12, cipher: .chacha20Poly1305, name: "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ]
    static let tls13 = all[0]
    static let tls12 = all[3]
}
