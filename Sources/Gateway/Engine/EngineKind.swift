/// The I/O engine a gateway runs on: the top-level `engine` key.
public enum EngineKind: String, Sendable, CaseIterable {
    /// io_uring: one ring per thread, multishot accept, provided receive buffers.
    case ioUring = "io_uring"
    /// epoll, edge-triggered, over non-blocking sockets: for hosts that block io_uring.
    case epoll
}

/// What the configuration asks for: a specific engine, or `auto` (io_uring, else epoll).
public enum EngineChoice: String, Sendable, CaseIterable {
    case auto
    case ioUring = "io_uring"
    case epoll
}
