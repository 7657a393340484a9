import Glibc
import Testing

@testable import Gateway

@Suite("Engine selection: auto falls back to epoll and names why")
struct EngineSelectionTests {
    static let eperm = EngineError.ioUringSetup(errno: EPERM)

    @Test func seccompFilterIsNamed() {
        let reason = EngineSelection.whyUnavailable(Self.eperm, sysctl: "0", seccompMode: "2")
        #expect(reason == "a seccomp profile blocks io_uring_setup (EPERM)")
    }

    @Test func sysctlIsNamedWithItsValue() {
        let reason = EngineSelection.whyUnavailable(Self.eperm, sysctl: "2", seccompMode: "0")
        #expect(reason == "kernel.io_uring_disabled=2 (io_uring_setup: EPERM)")
    }

    @Test func missingKernelSupportIsNamed() {
        let error = EngineError.ioUringSetup(errno: ENOSYS)
        #expect(
            EngineSelection.whyUnavailable(error, sysctl: nil, seccompMode: "0")
                == "the kernel has no io_uring (ENOSYS)"
        )
    }

    @Test func otherFailuresKeepTheEngineMessage() {
        let error = EngineError.ioUringSetup(errno: ENOMEM)
        #expect(EngineSelection.whyUnavailable(error, sysctl: "0", seccompMode: "0") == error.message)
    }

    @Test func epollNeedsNoProbe() throws {
        #expect(try EngineSelection.resolve(.epoll) == EngineSelection(kind: .epoll))
    }

    @Test func autoUsesIOUringWhereItWorks() throws {
        // This machine (and CI's) runs io_uring; where it does not, auto must still pick an engine.
        let selection = try EngineSelection.resolve(.auto)
        if (try? IOUringExecutor(entries: 8, bufferCount: 1, bufferSize: 4096)) != nil {
            #expect(selection == EngineSelection(kind: .ioUring))
        } else {
            #expect(selection.kind == .epoll)
            #expect(selection.fallbackReason != nil)
        }
    }

    @Test func configKeyIsValidated() throws {
        let base = "listen: \"127.0.0.1:0\"\nroutes: []\n"
        let parsed = try ConfigLoader.parse(yaml: "engine: epoll\n" + base, sourceName: "test")
        #expect(parsed.engine == .epoll)
        #expect(try ConfigLoader.parse(yaml: base, sourceName: "test").engine == .auto)
        do {
            _ = try ConfigLoader.parse(yaml: "engine: kqueue\n" + base, sourceName: "test")
            Issue.record("engine: kqueue was accepted")
        } catch {
            let text = error.issues.map { "\($0)" }.joined(separator: "\n")
            #expect(text.contains("engine"), "\(text)")
            #expect(text.contains("\"kqueue\" is not one of \"auto\", \"io_uring\", \"epoll\""), "\(text)")
        }
    }
}
