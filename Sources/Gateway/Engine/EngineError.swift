import Glibc

/// An error raised while starting or running the io_uring engine.
///
/// Carries an opaque ``Code`` so callers can match on the kind of failure, a message written for the
/// operator (what happened and how to fix it), and the underlying `errno` when there is one.
public struct EngineError: Error, CustomStringConvertible {
    /// The kind of engine failure.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case ioUringUnavailable, socket, bind, listen, thread, resources
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// io_uring could not be set up (seccomp, sysctl, old kernel, limits).
        package static let ioUringUnavailable = Code(.ioUringUnavailable)
        /// A socket could not be created or configured.
        package static let socket = Code(.socket)
        /// A listen address could not be bound.
        package static let bind = Code(.bind)
        /// `listen(2)` failed.
        package static let listen = Code(.listen)
        /// A worker thread could not be started.
        package static let thread = Code(.thread)
        /// Memory or buffer registration failed.
        package static let resources = Code(.resources)

        package var description: String { "\(value)" }
    }

    package var code: Code
    package var message: String
    package var errno: Int32?

    package init(code: Code, message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// Explains an `io_uring_queue_init` failure: the cause and the fix.
    package static func ioUringSetup(errno: Int32) -> EngineError {
        let detail: String
        switch errno {
        case EPERM:
            detail =
                "io_uring is not permitted (EPERM). Either a seccomp profile blocks io_uring_setup "
                + "(Docker/containerd default profiles do: run with a profile that allows io_uring_setup, "
                + "io_uring_enter and io_uring_register, e.g. --security-opt seccomp=unconfined), or the "
                + "sysctl kernel.io_uring_disabled is 1 or 2 (set it to 0: sysctl -w kernel.io_uring_disabled=0)."
        case ENOSYS:
            detail =
                "io_uring is not available in this kernel (ENOSYS). Gateway needs Linux 6.0 or newer "
                + "built with CONFIG_IO_URING=y."
        case ENOMEM:
            detail =
                "io_uring could not allocate its rings (ENOMEM). Raise the locked-memory limit "
                + "(ulimit -l / LimitMEMLOCK=infinity) or lower the number of workers."
        case EMFILE, ENFILE:
            detail = "io_uring could not get a file descriptor (\(String(cString: strerror(errno)))); raise ulimit -n."
        default:
            detail = "io_uring_queue_init failed: \(String(cString: strerror(errno))) (errno \(errno))."
        }
        return EngineError(code: .ioUringUnavailable, message: "cannot start: " + detail, errno: errno)
    }
}
