import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the test bundle and the package's products live, and fresh directories for a test's files.
package enum TestFiles {
    /// `<scratch>/<config>/`: the directory of the running test bundle, where the package's executables
    /// are built too.
    package static let buildDirectory: URL = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }()

    /// A fresh private directory `<tmp>/<label>-<pid>-<random>` for one test's configs, logs and data files.
    package static func makeTemporaryDirectory(_ label: String) throws -> URL {
        DescriptorTable.reserve()
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
