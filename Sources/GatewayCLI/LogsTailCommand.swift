import AccessLog
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct LogsTailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the last lines of an access log (file or directory) and optionally follow it.",
        discussion: """
            PATH is a log file (zstd-compressed or plain) or a log directory: the current access.log.zst \
            plus its rotated access-<timestamp>.log.zst files, read in order. With -f, new frames are \
            printed as the gateway closes them (at least every flush interval) and rotations are followed.
            """
    )

    @Flag(name: .shortAndLong, help: "Keep printing new lines, following rotations (like tail -F).")
    var follow = false

    @Option(name: .short, help: "Number of lines to print from the end.")
    var n: Int = 10

    @Option(name: .long, help: "Output format: json, combined or logfmt (default: as stored).")
    var format: String?

    @Option(
        name: .long,
        help: """
            Only lines whose FIELD equals VALUE (repeatable; all must match). Numbers compare by value; \
            a status class such as 5xx matches 500-599.
            """
    )
    var `where`: [String] = []

    @Option(name: .long, help: "File name stem of the log files in a directory.")
    var baseName: String = "access"

    @Argument(help: "A log file or a log directory.")
    var path: String

    func validate() throws {
        if self.n < 0 { throw ValidationError("-n must not be negative") }
        if let format, AccessLogFormat(rawValue: format) == nil {
            throw ValidationError("unknown format '\(format)'; use json, combined or logfmt")
        }
        for filter in self.where {
            do {
                _ = try AccessLogTailOptions.parseFilter(filter)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    func run() throws {
        var options = AccessLogTailOptions(lines: self.n, follow: self.follow, baseName: self.baseName)
        options.format = self.format.flatMap(AccessLogFormat.init(rawValue:))
        options.filters = try self.where.map { try AccessLogTailOptions.parseFilter($0) }
        do {
            try AccessLogTail(path: self.path, options: options).run { line in
                writeLine(line)
            }
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Writes one line straight to standard output, so a reader on a pipe sees it at once.
func writeLine(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                // Reader gone (EPIPE): stop like tail does.
                exit(0)
            }
            offset += written
        }
    }
}
