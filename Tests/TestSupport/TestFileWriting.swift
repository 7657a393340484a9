import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writing a test's files without `fsync`.
///
/// Foundation's `Data.write(to:)` and `String.write(to:atomically:encoding:)` call `fsync` on every file they
/// write. Tests call them on Swift concurrency's shared threads, of which there are as many as cores: beside
/// two CPU burners and the suite's own writes, one such `fsync` waited 25–50 s for writeback (the threads
/// were seen in `folio_wait_writeback`), and every test in the process stood still meanwhile. A test's files
/// live in a temporary directory and need no durability.
extension Data {
    /// Writes these bytes to `url`. `atomically`: through a temporary file renamed over `url`, so a reader
    /// (a gateway reloading its config) sees the old file or the new one, never a part; otherwise `url` is
    /// truncated and written in place.
    package func writeTestFile(to url: URL, atomically: Bool = false) throws {
        let target = url.path
        let path = atomically ? "\(target).tmp-\(UUID().uuidString.prefix(8))" : target
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TestFileError(path: path, operation: "open", code: errno) }
        var failure: TestFileError?
        withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = TestFileError(path: path, operation: "write", code: errno)
                    return
                }
                offset += written
            }
        }
        close(descriptor)
        if let failure {
            if atomically { unlink(path) }
            throw failure
        }
        if atomically && rename(path, target) != 0 {
            let code = errno
            unlink(path)
            throw TestFileError(path: target, operation: "rename", code: code)
        }
    }
}

extension String {
    /// Writes this text as UTF-8 to `url`; see ``Foundation/Data/writeTestFile(to:atomically:)``.
    package func writeTestFile(to url: URL, atomically: Bool = true) throws {
        try Data(utf8).writeTestFile(to: url, atomically: atomically)
    }

    /// Writes this text as UTF-8 to the file at `path`; see ``Foundation/Data/writeTestFile(to:atomically:)``.
    package func writeTestFile(toPath path: String, atomically: Bool = true) throws {
        try Data(utf8).writeTestFile(to: URL(fileURLWithPath: path), atomically: atomically)
    }
}

/// A test file that could not be written.
package struct TestFileError: Error, CustomStringConvertible {
    package var path: String
    package var operation: String
    package var code: Int32

    package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}
