import CZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The output file (or standard output): writes whole frames, rotates, reopens, prunes old files.
/// Thread-confined to the logging thread (opened on the caller's thread before the thread starts).
final class LogSink {
    let files: AccessLogFiles?
    private(set) var fd: Int32
    /// Bytes in the current file.
    private(set) var fileSize = 0
    /// When the current file received its first frame (monotonic ns), or nil while it is empty.
    private(set) var firstWriteAt: Int64?
    private var lastRotationStamp: Int64 = 0
    let retention: Int?
    /// Written into a new, empty file so that even a file without lines decodes (`zstdcat` fails on 0 bytes).
    private let emptyFrame: [UInt8]

    init(configuration: AccessLogConfiguration) throws(AccessLogError) {
        self.retention = configuration.retention
        if case .zstd(let level) = configuration.compression {
            var frame = [UInt8](repeating: 0, count: 64)
            let size = frame.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, nil, 0, level) }
            frame.removeSubrange((ZSTD_isError(size) != 0 ? 0 : size)...)
            self.emptyFrame = frame
        } else {
            self.emptyFrame = []
        }
        switch configuration.destination {
        case .standardOutput:
            self.files = nil
            self.fd = STDOUT_FILENO
        case .directory(let directory):
            let files = AccessLogFiles(
                directory: directory,
                baseName: configuration.baseName,
                suffix: configuration.compression == .none ? ".log" : ".log.zst"
            )
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw AccessLogError(
                    .io,
                    "cannot create log directory \(directory)",
                    cause: SystemCallError(call: "mkdir", errno: errno)
                )
            }
            self.files = files
            self.fd = -1
            self.fd = try Self.open(files.currentPath)
            self.fileSize = Self.size(of: self.fd)
            if self.fileSize > self.emptyFrame.count { self.firstWriteAt = monotonicNanoseconds() }
            self.writeEmptyFrameIfNew()
        }
    }

    deinit {
        if self.fd > STDERR_FILENO { close(self.fd) }
    }

    private static func open(_ path: String) throws(AccessLogError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw AccessLogError(.io, "cannot open \(path)", cause: SystemCallError(call: "open", errno: errno))
        }
        return fd
    }

    private static func size(of fd: Int32) -> Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Appends one complete frame.
    func write(_ frame: UnsafeRawBufferPointer) throws(AccessLogError) {
        guard frame.count > 0 else { return }
        do {
            try writeAll(self.fd, frame)
        } catch {
            throw AccessLogError(.io, "cannot write access log", cause: error)
        }
        if self.firstWriteAt == nil { self.firstWriteAt = monotonicNanoseconds() }
        self.fileSize += frame.count
    }

    /// Whether the current file should be rotated now.
    func rotationDue(maxFileSize: Int?, maxAge: Double?, now: Int64) -> Bool {
        guard self.files != nil, self.hasData else { return false }
        if let maxFileSize, self.fileSize >= maxFileSize { return true }
        if let maxAge, let firstWriteAt = self.firstWriteAt, Double(now - firstWriteAt) >= maxAge * 1e9 {
            return true
        }
        return false
    }

    /// Renames the current file to its rotated name, starts a new one, and prunes beyond the retention.
    func rotate() throws(AccessLogError) {
        guard let files else { return }
        var stamp = max(wallClockNanoseconds(), self.lastRotationStamp + 1_000_000)
        var rotatedPath = files.directory + "/" + files.rotatedName(nanoseconds: stamp)
        // Names must stay unique and increasing even when rotations come faster than 1 ms.
        while access(rotatedPath, F_OK) == 0 {
            stamp += 1_000_000
            rotatedPath = files.directory + "/" + files.rotatedName(nanoseconds: stamp)
        }
        self.lastRotationStamp = stamp
        if rename(files.currentPath, rotatedPath) != 0 {
            throw AccessLogError(
                .io,
                "cannot rename \(files.currentPath) to \(rotatedPath)",
                cause: SystemCallError(call: "rename", errno: errno)
            )
        }
        try self.reopen()
        if let retention {
            let rotated = files.rotatedPaths()
            for path in rotated.dropLast(retention) {
                unlink(path)
            }
        }
    }

    /// Closes the current file and opens its path again (after an external rename by logrotate).
    func reopen() throws(AccessLogError) {
        guard let files else { return }
        let newFD = try Self.open(files.currentPath)
        close(self.fd)
        self.fd = newFD
        self.fileSize = Self.size(of: newFD)
        self.firstWriteAt = self.fileSize > self.emptyFrame.count ? monotonicNanoseconds() : nil
        self.writeEmptyFrameIfNew()
    }

    /// Whether the current file holds lines (not just the empty start frame).
    var hasData: Bool { self.firstWriteAt != nil }

    private func writeEmptyFrameIfNew() {
        guard self.fileSize == 0, !self.emptyFrame.isEmpty else { return }
        // Best effort: a failure here shows up on the next real write.
        let written = self.emptyFrame.withUnsafeBytes { bytes in
            (try? writeAll(self.fd, bytes)) != nil
        }
        if written { self.fileSize = self.emptyFrame.count }
    }
}
