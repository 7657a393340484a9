import Foundation
import TestSupport
import Testing

@testable import Gateway

@Suite struct AdminFileResourceStoreTests {
    static func sample() throws -> ResourceSet {
        var set = AdminHarness.set([
            try AdminHarness.resource(
                .routes,
                "1",
                #"{"id":"1","uri":"/a","upstream_id":"u1","create_time":1,"update_time":2}"#,
                index: 3
            ),
            try AdminHarness.resource(.upstreams, "u1", #"{"id":"u1","nodes":{"127.0.0.1:80":1},"weight":0.5}"#),
            try AdminHarness.resource(.consumers, "jack", #"{"username":"jack","desc":"line\nbreak \"é\""}"#, index: 2),
            try AdminHarness.resource(
                .credentials,
                "jack/key-1",
                #"{"id":"key-1","plugins":{"key-auth":{"key":"s"}}}"#
            ),
            try AdminHarness.resource(.globalRules, "g", #"{"id":"g","plugins":{}}"#, index: 4),
        ])
        set.revision = 9
        return set
    }

    @Test func roundTripsEveryKindIndicesAndRevision() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-roundtrip")
        let store = FileResourceStore(path: directory.appendingPathComponent("resources.json").path)
        let set = try Self.sample()
        try await store.saveOffThePool(set)
        #expect(try store.load() == set)
        try await store.saveOffThePool(ResourceSet())
        #expect(try store.load() == ResourceSet())
    }

    @Test func theFileIsOneResourcePerLineAndPrivate() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-layout")
        let path = directory.appendingPathComponent("resources.json").path
        try await FileResourceStore(path: path).saveOffThePool(try Self.sample())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.first == #"{"format":1,"revision":9,"resources":["#)
        #expect(lines.count == 7)
        #expect(lines[1].hasPrefix(#"{"created_index":2,"id":"jack","kind":"consumers""#))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test func aMissingFileIsAnEmptySet() throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-missing")
        let store = FileResourceStore(path: directory.appendingPathComponent("absent/resources.json").path)
        #expect(try store.load() == ResourceSet())
    }

    @Test func saveCreatesMissingDirectories() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-mkdir")
        let store = FileResourceStore(path: directory.appendingPathComponent("a/b/resources.json").path)
        try await store.saveOffThePool(try Self.sample())
        #expect(try store.load() == (try Self.sample()))
    }

    @Test(arguments: [
        ("", "not valid JSON (unexpected end of input, expected a value at byte 0)"),
        (
            #"{"format":1,"revision":3,"resources":[{"kind":"routes","id":"1","#,
            "not valid JSON (expected a string key at byte"
        ),
        ("[]", "the top level is not an object"),
        (#"{"format":2,"revision":0,"resources":[]}"#, "\"format\" must be 1"),
        (#"{"format":1,"resources":[]}"#, "\"revision\" must be a non-negative integer"),
        (#"{"format":1,"revision":0,"resources":{}}"#, "\"resources\" must be an array"),
        (
            #"{"format":1,"revision":0,"resources":[{"kind":"ssl","id":"1","created_index":1,"modified_index":1,"value":{}}]}"#,
            "resources[0].kind must be one of"
        ),
        (
            #"{"format":1,"revision":0,"resources":[{"kind":"routes","id":"1","created_index":1,"modified_index":1,"value":"x"}]}"#,
            "resources[0].value must be an object"
        ),
        (
            #"{"format":1,"revision":0,"resources":[{"kind":"routes","id":"1","created_index":1,"value":{}}]}"#,
            "resources[0]: created_index and modified_index must be integers"
        ),
        (
            #"{"format":1,"revision":0,"resources":[{"kind":"routes","id":"1","created_index":1,"modified_index":1,"value":{}},{"kind":"routes","id":"1","created_index":1,"modified_index":1,"value":{}}]}"#,
            "resources[1]: routes/1 appears twice"
        ),
    ])
    func aCorruptFileIsAnErrorNamingThePathAndTheProblem(content: String, problem: String) throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-corrupt")
        let path = directory.appendingPathComponent("resources.json").path
        try content.writeTestFile(toPath: path, atomically: false)
        do {
            _ = try FileResourceStore(path: path).load()
            Issue.record("loaded \(content)")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.hasPrefix("\(path): \(problem)"))
        }
    }

    @Test func aLeftoverTemporaryFileDoesNotAffectLoad() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-leftover")
        let store = FileResourceStore(path: directory.appendingPathComponent("resources.json").path)
        try await store.saveOffThePool(try Self.sample())
        // A crash between writing the temporary file and the rename leaves half a file behind.
        try #"{"format":1,"revision":10,"resources":[{"kind":"rou"#.writeTestFile(
            toPath: store.temporaryPath,
            atomically: false
        )
        #expect(try store.load() == (try Self.sample()))
        // The next save overwrites it.
        try await store.saveOffThePool(ResourceSet())
        #expect(try store.load() == ResourceSet())
        #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
    }

    @Test func aFailedWriteLeavesThePreviousFileIntact() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-failed")
        let store = FileResourceStore(path: directory.appendingPathComponent("resources.json").path)
        let previous = try Self.sample()
        try await store.saveOffThePool(previous)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        // A directory where the temporary file goes: the write fails, even as root.
        try FileManager.default.createDirectory(atPath: store.temporaryPath, withIntermediateDirectories: false)
        do {
            try store.save(ResourceSet())
            Issue.record("saved over a directory")
        } catch {
            #expect(error.code == .unwritable)
            #expect(error.message.contains(store.temporaryPath))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == before)
        #expect(try store.load() == previous)
    }

    @Test func aPathUnderARegularFileIsUnwritable() throws {
        let directory = try TestFiles.makeTemporaryDirectory("store-notdir")
        let blocker = directory.appendingPathComponent("data")
        try "not a directory".writeTestFile(to: blocker, atomically: false)
        let store = FileResourceStore(path: blocker.appendingPathComponent("resources.json").path)
        let sample = try Self.sample()
        do {
            try store.save(sample)
            Issue.record("saved under a regular file")
        } catch {
            #expect(error.code == .unwritable)
            #expect(error.message.contains(blocker.path))
        }
        #expect(try String(contentsOf: blocker, encoding: .utf8) == "not a directory")
        do {
            _ = try store.load()
            Issue.record("loaded from under a regular file")
        } catch {
            #expect(error.code == .unreadable)
        }
    }

    @Test func aRelativePathLivesInTheWorkingDirectory() {
        #expect(FileResourceStore().path == "data/resources.json")
        #expect(FileResourceStore().directory == "data")
        #expect(FileResourceStore(path: "resources.json").directory == ".")
        #expect(FileResourceStore(path: "/resources.json").directory == "/")
    }
}

extension FileResourceStore {
    /// `save` on a thread of its own: it fsyncs (that is what it is for), and on a machine under write load an
    /// fsync can wait tens of seconds, which must not hold one of the few threads every test shares.
    func saveOffThePool(_ set: ResourceSet) async throws {
        try await blocking { try self.save(set) }
    }
}
