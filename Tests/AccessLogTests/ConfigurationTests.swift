import AccessLog
import Testing

@Suite struct ConfigurationTests {
    static func error(_ change: (inout AccessLogConfiguration) -> Void) throws -> String? {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path)
        change(&configuration)
        do {
            _ = try AccessLogger(configuration: configuration)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func frameSizeIsBounded() throws {
        #expect(try Self.error { $0.frameSize = 4095 }?.contains("frame size must be within") == true)
        #expect(try Self.error { $0.frameSize = (64 << 20) + 1 }?.contains("got 67108865") == true)
        #expect(try Self.error { $0.frameSize = 4096 } == nil)
        #expect(try Self.error { $0.frameSize = 64 << 20 } == nil)
    }

    @Test func zstdLevelIsBounded() throws {
        #expect(try Self.error { $0.compression = .zstd(level: 0) }?.contains("zstd level") == true)
        #expect(try Self.error { $0.compression = .zstd(level: 23) }?.contains("got 23") == true)
        #expect(try Self.error { $0.compression = .zstd(level: -7) } == nil)
        #expect(try Self.error { $0.compression = .zstd(level: 22) } == nil)
    }
}
