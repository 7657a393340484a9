#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `gateway logs tail` shows.
public struct AccessLogTailOptions: Sendable {
    /// How many lines to print from the end (after filtering).
    public var lines: Int
    /// Keep printing new lines, following rotations, until stopped.
    public var follow: Bool
    /// Output format; nil prints lines as stored.
    public var format: AccessLogFormat?
    /// Only lines whose field equals the value (all must match).
    public var filters: [(field: String, value: String)]
    /// How often to look for new data while following, in seconds.
    public var pollInterval: Double
    /// The file name stem when reading a directory.
    public var baseName: String

    /// Options with `tail`'s defaults: the last 10 lines, no follow, stored format, no filter.
    public init(
        lines: Int = 10,
        follow: Bool = false,
        format: AccessLogFormat? = nil,
        filters: [(field: String, value: String)] = [],
        pollInterval: Double = 0.1,
        baseName: String = "access"
    ) {
        self.lines = lines
        self.follow = follow
        self.format = format
        self.filters = filters
        self.pollInterval = pollInterval
        self.baseName = baseName
    }

    /// Parses a `FIELD=VALUE` filter.
    public static func parseFilter(_ text: String) throws(AccessLogError) -> (field: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw AccessLogError(.invalidArgument, "filter must look like FIELD=VALUE, got '\(text)'")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
}

/// Prints the end of an access log (a file, or a directory of current and rotated files) and, when
/// following, new lines as frames are completed, across rotations, like `tail -F`.
public struct AccessLogTail {
    /// What to show.
    public var options: AccessLogTailOptions
    /// A file or a log directory.
    public var path: String

    /// A tail of `path` with `options`.
    public init(path: String, options: AccessLogTailOptions) {
        self.path = path
        self.options = options
    }

    /// Runs until done (or, when following, until `shouldStop` returns true); `emit` gets each line.
    public func run(shouldStop: () -> Bool = { false }, emit: (String) -> Void) throws(AccessLogError) {
        let (history, current) = try self.filesToRead()
        let filter = AccessLogLineFilter(self.options.filters)
        let wanted = max(0, self.options.lines)
        var currentReader: AccessLogFileReader?
        // Newest file first until enough lines are found; the current file's reader is kept for following.
        var collected: [[String]] = []
        var count = 0
        for (position, file) in (history + [current].compactMap { $0 }).reversed().enumerated() {
            guard let reader = try? AccessLogFileReader(path: file) else { continue }
            var recent = RecentLines(capacity: wanted - count)
            try reader.readLines { line in
                if filter.accepts(line) { recent.append(line) }
            }
            if position == 0 && file == current { currentReader = reader }
            collected.append(recent.lines)
            count += recent.offered
            if count >= wanted { break }
        }
        for lines in collected.reversed() {
            for line in lines { emit(self.render(line)) }
        }
        guard self.options.follow, let current else { return }
        try self.follow(current, reader: currentReader, filter: filter, shouldStop: shouldStop, emit: emit)
    }

    private func follow(
        _ path: String,
        reader initial: AccessLogFileReader?,
        filter: AccessLogLineFilter,
        shouldStop: () -> Bool,
        emit: (String) -> Void
    ) throws(AccessLogError) {
        var reader = initial
        let emitAccepted = { (line: UnsafeRawBufferPointer) in
            if filter.accepts(line) { emit(self.render(String(decoding: line, as: UTF8.self))) }
        }
        while !shouldStop() {
            if let active = reader {
                try active.readLines(emitAccepted)
                let now = AccessLogFileReader.identity(of: path)
                if now != nil && now != active.identity {
                    // Rotated: finish the old file (frames written just before the rename), then switch.
                    try active.readLines(emitAccepted)
                    reader = try? AccessLogFileReader(path: path)
                    continue
                }
            } else if AccessLogFileReader.identity(of: path) != nil {
                reader = try? AccessLogFileReader(path: path)
                continue
            }
            sleepSeconds(self.options.pollInterval)
        }
    }

    /// Rotated files oldest first and the current file (which may not exist yet).
    private func filesToRead() throws(AccessLogError) -> (history: [String], current: String?) {
        var isDirectory = false
        if !Self.exists(self.path, isDirectory: &isDirectory) {
            if self.options.follow { return ([], self.path) }
            throw AccessLogError(.invalidArgument, "no such file or directory: \(self.path)")
        }
        guard isDirectory else { return ([], self.path) }
        let compressed = AccessLogFiles(directory: self.path, baseName: self.options.baseName)
        let plain = AccessLogFiles(directory: self.path, baseName: self.options.baseName, suffix: ".log")
        let files = compressed.allPaths().isEmpty && !plain.allPaths().isEmpty ? plain : compressed
        return (files.rotatedPaths(), files.currentPath)
    }

    private static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        return true
    }

    private func render(_ line: String) -> String {
        guard let format = self.options.format else { return line }
        return AccessLogLine(line).rendered(as: format)
    }
}
