import Foundation
import Glibc

/// The engine a gateway runs on, decided once at start from the `engine` setting.
public struct EngineSelection: Sendable, Equatable {
    /// The engine in use.
    public let kind: EngineKind
    /// Under `engine: auto`, why io_uring was not used (nil when it was, or when epoll was asked for).
    public let fallbackReason: String?

    public init(kind: EngineKind, fallbackReason: String? = nil) {
        self.kind = kind
        self.fallbackReason = fallbackReason
    }

    /// Resolves `choice`: `auto` tries io_uring (a ring and a provided-buffer ring, as a worker needs)
    /// and falls back to epoll; `io_uring` fails with the reason and the fix when it is unavailable.
    public static func resolve(_ choice: EngineChoice) throws(EngineError) -> EngineSelection {
        switch choice {
        case .epoll:
            return EngineSelection(kind: .epoll)
        case .ioUring:
            do {
                _ = try IOUringExecutor(entries: 8, bufferCount: 1, bufferSize: 4096)
            } catch {
                var explained = error
                explained.message += " Or set `engine: auto` (or `engine: epoll`) to run on epoll instead."
                throw explained
            }
            return EngineSelection(kind: .ioUring)
        case .auto:
            do {
                _ = try IOUringExecutor(entries: 8, bufferCount: 1, bufferSize: 4096)
                return EngineSelection(kind: .ioUring)
            } catch {
                return EngineSelection(kind: .epoll, fallbackReason: whyUnavailable(error))
            }
        }
    }

    /// One line naming why io_uring cannot be used: a seccomp profile, the sysctl, or the kernel.
    package static func whyUnavailable(
        _ error: EngineError,
        sysctl: String? = readFirstLine("/proc/sys/kernel/io_uring_disabled"),
        seccompMode: String? = seccompMode()
    ) -> String {
        let code = error.errno ?? 0
        let name = code == EPERM ? "EPERM" : code == ENOSYS ? "ENOSYS" : code == EACCES ? "EACCES" : "errno \(code)"
        if let sysctl, let value = Int(sysctl), value != 0, code == EPERM || code == EACCES {
            return "kernel.io_uring_disabled=\(value) (io_uring_setup: \(name))"
        }
        if seccompMode == "2", code == EPERM || code == ENOSYS || code == EACCES {
            return "a seccomp profile blocks io_uring_setup (\(name))"
        }
        if code == ENOSYS { return "the kernel has no io_uring (ENOSYS)" }
        return error.message
    }

    /// `Seccomp:` of /proc/self/status: "0" none, "1" strict, "2" a filter.
    package static func seccompMode() -> String? {
        guard let status = readFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Seccomp:") {
            return line.dropFirst("Seccomp:".count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    package static func readFirstLine(_ path: String) -> String? {
        readFile(path).map { String($0.prefix { $0 != "\n" }) }
    }

    private static func readFile(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}
