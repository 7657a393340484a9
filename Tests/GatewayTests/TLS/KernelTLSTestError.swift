/// A failure of the kTLS tests' own OpenSSL plumbing (a handshake or a read that should have worked).
struct KernelTLSTestError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
