#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names of a log directory's files: the current `<base>.log.zst` and rotated `<base>-<stamp>.log.zst`.
public struct AccessLogFiles: Sendable {
    /// The directory holding the files.
    public var directory: String
    /// The file name stem, e.g. `access`.
    public var baseName: String
    /// `.log.zst` for compressed logs, `.log` for plain ones.
    public var suffix: String

    /// Names for `baseName` files in `directory` with the given suffix.
    public init(directory: String, baseName: String = "access", suffix: String = ".log.zst") {
        self.directory = directory
        self.baseName = baseName
        self.suffix = suffix
    }

    /// The current file's path.
    public var currentPath: String { self.directory + "/" + self.baseName + self.suffix }

    /// The rotated file name for a rotation at `nanoseconds` since the epoch, e.g.
    /// `access-20250102T030405.678Z.log.zst`; fixed width, so names sort in time order.
    public func rotatedName(nanoseconds: Int64) -> String {
        let milliseconds = floorDivide(nanoseconds, 1_000_000)
        let civil = CivilTime(secondsSinceEpoch: floorDivide(milliseconds, 1000))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let stamp =
            pad(civil.year, 4) + pad(civil.month, 2) + pad(civil.day, 2) + "T" + pad(civil.hour, 2)
            + pad(civil.minute, 2) + pad(civil.second, 2) + "."
            + pad(Int(milliseconds - floorDivide(milliseconds, 1000) * 1000), 3)
            + "Z"
        return self.baseName + "-" + stamp + self.suffix
    }

    /// Paths of the rotated files, oldest first.
    public func rotatedPaths() -> [String] {
        guard let handle = opendir(self.directory) else { return [] }
        defer { closedir(handle) }
        let prefix = self.baseName + "-"
        var names: [String] = []
        while let entry = readdir(handle) {
            // Read the name in place: a `dirent` is variable-length, so copying the whole `d_name` field
            // reads past the last entry of the stream's buffer.
            let nameStart = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = String(cString: nameStart.assumingMemoryBound(to: CChar.self))
            // The stamp is 20 characters: yyyyMMddTHHmmss.SSSZ
            if name.hasPrefix(prefix) && name.hasSuffix(self.suffix)
                && name.utf8.count == prefix.utf8.count + 20 + self.suffix.utf8.count
            {
                names.append(name)
            }
        }
        return names.sorted().map { self.directory + "/" + $0 }
    }

    /// Every file of the log in order: rotated files oldest first, then the current file if present.
    public func allPaths() -> [String] {
        var paths = self.rotatedPaths()
        if access(self.currentPath, F_OK) == 0 { paths.append(self.currentPath) }
        return paths
    }
}
