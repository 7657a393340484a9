extension KernelTLSMode {
    /// Narrows the process-wide mode to one established session: the kernel takes it only for TLS 1.2 or 1.3
    /// with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305.
    ///
    /// - Parameters:
    ///   - protocolName: OpenSSL's `SSL_get_version` ("TLSv1.3").
    ///   - cipherName: OpenSSL's `SSL_CIPHER_get_name` ("ECDHE-RSA-AES128-GCM-SHA256") or the IANA name.
    /// - Returns: `self` when it is already userspace, else `.kernel` or the reason the session stays out.
    package func session(protocolName: String, cipherName: String) -> KernelTLSMode {
        guard case .kernel = self else { return self }
        guard KernelTLSProtocol(name: protocolName) != nil else {
            return .userspace(.protocolNotSupported(protocolName))
        }
        guard KernelTLSCipher(name: cipherName) != nil else { return .userspace(.cipherNotSupported(cipherName)) }
        return .kernel
    }
}
