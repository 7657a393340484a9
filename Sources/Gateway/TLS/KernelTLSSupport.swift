import Glibc

/// What the running kernel offers for kTLS, read from `/proc/sys/net/ipv4/tcp_available_ulp`.
package enum KernelTLSSupport {
    /// Where the kernel lists its registered TCP upper-layer protocols (ULPs).
    package static let availableULPsPath = "/proc/sys/net/ipv4/tcp_available_ulp"

    /// The ULP list as the kernel writes it ("mptcp tls\n"), or nil when the file cannot be read.
    package static func availableULPs(path: String = availableULPsPath) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // procfs reports size 0, so read to end of file rather than trusting fstat; the list is a few names.
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `availableULPs` (whitespace-separated names) lists `tls`; a missing list offers nothing.
    package static func offersTLS(_ availableULPs: String?) -> Bool {
        guard let availableULPs else { return false }
        return availableULPs.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).contains("tls")
    }

    /// Reads the kernel's ULP list at `path` and decides the process-wide mode for `setting`.
    package static func mode(setting: KernelTLSSetting, path: String = availableULPsPath) -> KernelTLSMode {
        // With kTLS off, the kernel is not even asked.
        guard setting == .auto else { return KernelTLSMode.choose(availableULPs: nil, setting: setting) }
        return KernelTLSMode.choose(availableULPs: availableULPs(path: path), setting: setting)
    }
}
