import CZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a log file incrementally: complete zstd frames (or complete plain lines), as they appear.
///
/// A partial frame at the end of a live file is kept and completed on a later ``readLines()``, never
/// reported as an error. A damaged frame (e.g. torn by a crash before a restart appended more) is
/// skipped up to the next frame header and counted in ``skippedBytes``.
public final class AccessLogFileReader {
    /// The file's path.
    public let path: String
    /// Device and inode of the open file, to notice a rotation (the path now names another file).
    public let identity: FileIdentity
    /// Bytes skipped because they were not part of a decodable frame.
    public private(set) var skippedBytes = 0
    private let fd: Int32
    private var pending: [UInt8] = []
    private var partialLine: [UInt8] = []
    private var compressed: Bool?
    private let context: OpaquePointer
    private var decoded: [UInt8] = []
    // zstd_errors.h (ZSTD_error_srcSize_wrong) is not part of the CZstd module; its message is stable.
    private static let truncatedFrameError = "Src size is incorrect"

    /// Identifies a file independently of its name.
    public struct FileIdentity: Hashable, Sendable {
        /// The device number.
        public var device: UInt64
        /// The inode number.
        public var inode: UInt64
    }

    /// Opens `path` for reading from its start.
    public init(path: String) throws(AccessLogError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AccessLogError(.io, "cannot open \(path)", cause: SystemCallError(call: "open", errno: errno))
        }
        var info = stat()
        fstat(fd, &info)
        guard let context = ZSTD_createDCtx() else {
            close(fd)
            throw AccessLogError(.compression, "ZSTD_createDCtx failed")
        }
        self.path = path
        self.fd = fd
        self.context = context
        self.identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    deinit {
        ZSTD_freeDCtx(self.context)
        close(self.fd)
    }

    /// The identity of whatever file `path` names now, or nil if nothing does.
    public static func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Reads everything new and returns the complete lines it finished (without the newline).
    public func readLines() throws(AccessLogError) -> [String] {
        var lines: [String] = []
        try self.readLines { lines.append(String(decoding: $0, as: UTF8.self)) }
        return lines
    }

    /// Reads everything new and calls `body` with each complete line it finished (without the
    /// newline; the bytes are valid only during the call). Nothing is kept per line, so reading a
    /// large file costs memory for one 4 MiB batch, not for its lines.
    public func readLines(_ body: (UnsafeRawBufferPointer) -> Void) throws(AccessLogError) {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw AccessLogError(
                    .io,
                    "cannot read \(self.path)",
                    cause: SystemCallError(call: "read", errno: errno)
                )
            }
            if count == 0 { break }
            self.pending.append(contentsOf: chunk[0..<count])
            if self.pending.count >= 1 << 22 { self.consume(body) }
        }
        self.consume(body)
    }

    private func consume(_ body: (UnsafeRawBufferPointer) -> Void) {
        if self.compressed == nil {
            guard self.pending.count >= 4 else { return }
            self.compressed = self.pending.starts(with: [0x28, 0xB5, 0x2F, 0xFD])
        }
        if self.compressed == true {
            self.decodeFrames()
            self.splitLines(self.decoded, body)
            self.decoded.removeAll(keepingCapacity: true)
        } else {
            self.splitLines(self.pending, body)
            self.pending.removeAll(keepingCapacity: true)
        }
    }

    private func decodeFrames() {
        var offset = 0
        while offset < self.pending.count {
            let remaining = self.pending.count - offset
            let size = self.pending.withUnsafeBytes {
                ZSTD_findFrameCompressedSize($0.baseAddress! + offset, remaining)
            }
            if ZSTD_isError(size) != 0 {
                // Too short to tell, or truncated: wait for the writer to finish the frame.
                if String(cString: ZSTD_getErrorName(size)) == Self.truncatedFrameError { break }
                offset = self.resynchronize(from: offset + 1)
                continue
            }
            if self.decodeFrame(at: offset, size: size) {
                offset += size
            } else {
                offset = self.resynchronize(from: offset + 1)
            }
        }
        self.pending.removeFirst(offset)
    }

    /// Finds the next zstd magic number at or after `start`, counting the bytes passed over.
    private func resynchronize(from start: Int) -> Int {
        var index = start
        while index + 4 <= self.pending.count {
            if self.pending[index] == 0x28 && self.pending[index + 1] == 0xB5 && self.pending[index + 2] == 0x2F
                && self.pending[index + 3] == 0xFD
            {
                break
            }
            index += 1
        }
        if index + 4 > self.pending.count { index = self.pending.count }
        self.skippedBytes += index - (start - 1)
        return index
    }

    private func decodeFrame(at offset: Int, size: Int) -> Bool {
        ZSTD_DCtx_reset(self.context, ZSTD_reset_session_only)
        let before = self.decoded.count
        var output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        let ok = self.pending.withUnsafeBytes { raw -> Bool in
            var input = ZSTD_inBuffer(src: raw.baseAddress! + offset, size: size, pos: 0)
            while true {
                let (code, produced) = output.withUnsafeMutableBytes { out -> (Int, Int) in
                    var buffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let code = ZSTD_decompressStream(self.context, &buffer, &input)
                    return (code, buffer.pos)
                }
                if ZSTD_isError(code) != 0 { return false }
                self.decoded.append(contentsOf: output[0..<produced])
                if code == 0 { return true }
                if input.pos == input.size && produced == 0 { return false }
            }
        }
        if !ok { self.decoded.removeSubrange(before...) }
        return ok
    }

    private func splitLines(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                guard let newline = memchr(raw.baseAddress! + start, 0x0A, raw.count - start) else { break }
                let end = UnsafeRawPointer(newline) - raw.baseAddress!
                let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                if self.partialLine.isEmpty {
                    body(line)
                } else {
                    self.partialLine.append(contentsOf: line)
                    self.partialLine.withUnsafeBytes { body($0) }
                    self.partialLine.removeAll(keepingCapacity: true)
                }
                start = end + 1
            }
            self.partialLine.append(contentsOf: raw[start...])
        }
    }
}
