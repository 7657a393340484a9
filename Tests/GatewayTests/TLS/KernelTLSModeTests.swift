import Glibc
import Testing

@testable import Gateway

@Suite("kTLS: the kernel only where it offers the tls ULP, and per session only for kTLS ciphers")
struct KernelTLSModeTests {
    @Test func listedULPChoosesTheKernel() {
        let mode = KernelTLSMode.choose(availableULPs: "espintcp mptcp tls\n", setting: .auto)
        #expect(mode == .kernel)
        #expect(mode.startupLine.hasPrefix("kTLS: kernel offers the tls ULP;"), "\(mode.startupLine)")
    }

    @Test func unlistedULPStaysInUserspaceWithOneInfoLine() {
        // This machine's list: mptcp only.
        let mode = KernelTLSMode.choose(availableULPs: "mptcp\n", setting: .auto)
        #expect(mode == .userspace(.noULP))
        #expect(mode.startupLine == "kTLS: kernel offers no tls ULP; TLS records are encrypted in userspace")
    }

    @Test(arguments: ["", "\n", "tlsx mptcp", "mptcp ktls", "TLS"])
    func onlyTheExactNameCounts(list: String) {
        #expect(KernelTLSMode.choose(availableULPs: list, setting: .auto) == .userspace(.noULP))
    }

    @Test func missingListIsNotOffered() {
        let mode = KernelTLSMode.choose(availableULPs: nil, setting: .auto)
        #expect(mode == .userspace(.ulpListUnreadable))
        #expect(mode.startupLine.hasPrefix("kTLS: kernel offers no tls ULP ("), "\(mode.startupLine)")
        #expect(mode.startupLine.hasSuffix("; TLS records are encrypted in userspace"))
    }

    @Test func configuredOffWinsOverTheKernel() {
        let mode = KernelTLSMode.choose(availableULPs: "mptcp tls", setting: .off)
        #expect(mode == .userspace(.configuredOff))
        #expect(
            mode.startupLine
                == "kTLS: off in the configuration (tls.ktls: off); TLS records are encrypted in userspace"
        )
    }

    @Test func supportReadsTheListFromAnInjectedPath() {
        let path = "/tmp/gateway-ktls-ulp-\(getpid())"
        defer { unlink(path) }
        Self.store("espintcp mptcp tls\n", to: path)
        #expect(KernelTLSSupport.availableULPs(path: path) == "espintcp mptcp tls\n")
        #expect(KernelTLSSupport.mode(setting: .auto, path: path) == .kernel)
        #expect(KernelTLSSupport.mode(setting: .off, path: path) == .userspace(.configuredOff))
        Self.store("mptcp\n", to: path)
        #expect(KernelTLSSupport.mode(setting: .auto, path: path) == .userspace(.noULP))
    }

    @Test func supportTreatsAMissingFileAsNotOffered() {
        let path = "/tmp/gateway-ktls-missing-\(getpid())"
        #expect(KernelTLSSupport.availableULPs(path: path) == nil)
        #expect(!KernelTLSSupport.offersTLS(nil))
        #expect(KernelTLSSupport.mode(setting: .auto, path: path) == .userspace(.ulpListUnreadable))
    }

    @Test func thisKernelsListIsReadAndDecidesTheMode() {
        // procfs reports size 0: the reader must read to the end anyway. Every kernel with ULPs lists at least
        // one name where the file exists.
        let list = KernelTLSSupport.availableULPs()
        if let list { #expect(!list.isEmpty) }
        let mode = KernelTLSSupport.mode(setting: .auto)
        #expect((mode == .kernel) == KernelTLSSupport.offersTLS(list))
    }

    @Test(arguments: [
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256", KernelTLSMode.kernel),
        ("TLSv1.3", "TLS_AES_256_GCM_SHA384", .kernel),
        ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", .kernel),
        ("TLSv1.3", "TLS_AES_128_CCM_SHA256", .userspace(.cipherNotSupported("TLS_AES_128_CCM_SHA256"))),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", .kernel),
        ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", .kernel),
        ("TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305", .kernel),
        ("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", .kernel),
        ("TLSv1.2", "ECDHE-RSA-AES128-SHA256", .userspace(.cipherNotSupported("ECDHE-RSA-AES128-SHA256"))),
        ("TLSv1.2", "ECDHE-ARIA128-GCM-SHA256", .userspace(.cipherNotSupported("ECDHE-ARIA128-GCM-SHA256"))),
        ("TLSv1.1", "ECDHE-RSA-AES128-SHA", .userspace(.protocolNotSupported("TLSv1.1"))),
        ("TLSv1", "AES128-GCM-SHA256", .userspace(.protocolNotSupported("TLSv1"))),
    ])
    func sessionEligibility(protocolName: String, cipherName: String, expected: KernelTLSMode) {
        #expect(KernelTLSMode.kernel.session(protocolName: protocolName, cipherName: cipherName) == expected)
    }

    @Test func userspaceProcessKeepsEverySessionInUserspace() {
        let mode = KernelTLSMode.userspace(.noULP)
        #expect(mode.session(protocolName: "TLSv1.3", cipherName: "TLS_AES_128_GCM_SHA256") == mode)
    }

    @Test(arguments: [
        ("TLS_AES_128_GCM_SHA256", KernelTLSCipher.aes128GCM),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", .aes128GCM),
        ("TLS_AES_256_GCM_SHA384", .aes256GCM),
        ("DHE-RSA-AES256-GCM-SHA384", .aes256GCM),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", .chacha20Poly1305),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", .chacha20Poly1305),
    ])
    func cipherNamesMapToTheKernelCipher(name: String, cipher: KernelTLSCipher) {
        #expect(KernelTLSCipher(name: name) == cipher)
    }

    @Test func protocolNamesMapToTheKernelVersion() {
        #expect(KernelTLSProtocol(name: "TLSv1.2")?.rawValue == 0x0303)
        #expect(KernelTLSProtocol(name: "TLSv1.3")?.rawValue == 0x0304)
        #expect(KernelTLSProtocol(name: "DTLSv1.2") == nil)
    }

    private static func store(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let written = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        #expect(written == text.utf8.count)
    }
}
