import Glibc
import Testing

@testable import Gateway

@Suite("kTLS install: setsockopt failures come back as clean errors with their errno")
struct KernelTLSSocketTests {
    @Test func installWithoutTheULPFailsWithENOPROTOOPT() throws {
        let pair = try KernelTLSLoopbackPair()
        defer { pair.close() }
        let info = try KernelTLSCryptoInfoTests.sample(.aes128GCM)
        for direction in KernelTLSDirection.allCases {
            do {
                try KernelTLSSocket.install(fd: pair.server, direction: direction, cryptoInfo: info)
                Issue.record("SOL_TLS accepted on a socket without the tls ULP")
            } catch {
                #expect(error.code == .install)
                #expect(error.errno == ENOPROTOOPT)
                #expect(error.message.hasPrefix("kTLS: setsockopt(SOL_TLS, TLS_"), "\(error.message)")
            }
        }
        // The socket is still a plain TCP socket: the session can go on in userspace.
        #expect(send(pair.server, "ok", 2, 0) == 2)
    }

    @Test func enableULPAgreesWithTheKernelsList() throws {
        let pair = try KernelTLSLoopbackPair()
        defer { pair.close() }
        do {
            try KernelTLSSocket.enableULP(fd: pair.server)
            // The kernel may load the tls module on demand: then it is listed from now on, and keys install.
            #expect(KernelTLSSupport.offersTLS(KernelTLSSupport.availableULPs()))
            let secret = KernelTLSHex.bytes(KernelTLSKeysTests.rfc8448ServerApplication)
            let info = try KernelTLSKeys.tls13(cipher: .aes128GCM, trafficSecret: secret, sequence: 0)
            try KernelTLSSocket.install(fd: pair.server, direction: .transmit, cryptoInfo: info)
            try KernelTLSSocket.install(fd: pair.server, direction: .receive, cryptoInfo: info)
        } catch {
            // This machine: no tls ULP, so ENOENT and the socket is left as it was.
            #expect(!KernelTLSSupport.offersTLS(KernelTLSSupport.availableULPs()))
            #expect(error.code == .ulp)
            #expect(error.errno == ENOENT)
            #expect(error.message.contains("setsockopt(TCP_ULP, \"tls\")"), "\(error.message)")
            #expect(send(pair.server, "ok", 2, 0) == 2)
        }
    }

    @Test func enableULPOnABadDescriptorIsEBADF() {
        #expect {
            try KernelTLSSocket.enableULP(fd: -1)
        } throws: { error in
            let error = error as? KernelTLSError
            return error?.code == .ulp && error?.errno == EBADF
        }
    }
}
