import Foundation
import Logging
import TestSupport
import Testing

@testable import Gateway

/// The etcd client against a real etcd on loopback: ranges, writes, compare-and-swap, watches, resume and
/// compaction.
@Suite("etcd client against a real etcd")
struct EtcdClientTests {
    /// A fresh etcd in a temporary directory, stopped after `body`.
    /// `stream.next` on a thread of its own (``blocking(_:)``): a watch waits up to its deadline, which must not
    /// hold one of the few threads every other test runs on.
    static func next(
        _ stream: EtcdWatchStream,
        deadline: ContinuousClock.Instant
    ) async throws -> EtcdWatchStream.Message {
        let box = UncheckedSendableBox(stream)
        return try await blocking { UncheckedSendableBox(try box.value.next(deadline: deadline)) }.value
    }

    static func withEtcd<T>(_ label: String, _ body: (EtcdServer, EtcdClient) async throws -> T) async throws -> T {
        // Watches wait on real time: they take turns with the other timing-sensitive tests.
        try await timingSensitive {
            let directory = try TestFiles.makeTemporaryDirectory("etcd-\(label)")
            let server = try await EtcdServer.start(in: directory)
            var settings = EtcdSettings()
            settings.endpoints = [EtcdSettings.Endpoint(host: "127.0.0.1", port: server.clientPort)]
            settings.timeout = .seconds(10)
            do {
                let result = try await body(server, EtcdClient(settings: settings))
                await server.stop()
                try? FileManager.default.removeItem(at: directory)
                return result
            } catch {
                await server.stop()
                throw error
            }
        }
    }

    @Test("range returns every key under a prefix with its revisions; put, get and delete round-trip")
    func rangePutDelete() async throws {
        try await Self.withEtcd("range") { server, client in
            let first = try client.put("/apisix/routes/1", Array(#"{"uri":"/é"}"#.utf8))
            try await server.put("/apisix/upstreams/u", #"{"nodes":{}}"#)
            try await server.put("/apisixother/routes/9", "{}")
            let range = try client.range(prefix: "/apisix/")
            #expect(range.kvs.map(\.key).sorted() == ["/apisix/routes/1", "/apisix/upstreams/u"])
            #expect(range.revision >= first + 1)
            let route = try #require(range.kvs.first { $0.key == "/apisix/routes/1" })
            #expect(String(decoding: route.value, as: UTF8.self) == #"{"uri":"/é"}"#)
            #expect(route.createRevision == first && route.modRevision == first && route.version == 1)
            let again = try client.put("/apisix/routes/1", Array("{}".utf8))
            let read = try #require(try client.get("/apisix/routes/1"))
            #expect(read.createRevision == first && read.modRevision == again && read.version == 2)
            let deleted = try client.delete("/apisix/routes/1")
            #expect(deleted.deleted == 1 && deleted.revision > again)
            #expect(try client.get("/apisix/routes/1") == nil)
        }
    }

    @Test("a transaction writes only while its comparison holds: create once, then only at the seen mod_revision")
    func transactionConflict() async throws {
        try await Self.withEtcd("txn") { server, client in
            let key = "/apisix/routes/cas"
            let create = EtcdTxn(compares: [.absent(key: key)], success: [.put(key: key, value: Array("1".utf8))])
            let created = try client.txn(create)
            #expect(created.succeeded)
            #expect(try client.txn(create).succeeded == false)
            // Someone else writes it: an update from the first revision no longer applies.
            let theirs = try await server.put(key, "2")
            let stale = EtcdTxn(
                compares: [.modRevision(key: key, equals: created.revision)],
                success: [.put(key: key, value: Array("3".utf8))]
            )
            let refused = try client.txn(stale)
            #expect(refused.succeeded == false)
            #expect(String(decoding: try #require(try client.get(key)).value, as: UTF8.self) == "2")
            let fresh = EtcdTxn(
                compares: [.modRevision(key: key, equals: theirs), .version(key: key, equals: 2)],
                success: [.delete(key: key)]
            )
            #expect(try client.txn(fresh).succeeded)
            #expect(try client.get(key) == nil)
        }
    }

    @Test("a watch streams puts and deletes in order, and resumes from a revision after it was closed")
    func watchAndResume() async throws {
        try await Self.withEtcd("watch") { server, client in
            let start = try client.put("/apisix/routes/0", Array("{}".utf8))
            let stream = try client.watch(prefix: "/apisix/", from: start + 1)
            let created = try await Self.next(stream, deadline: .now + .seconds(10))
            #expect(created.created)
            let put = try await server.put("/apisix/routes/1", #"{"a":1}"#)
            try await server.delete("/apisix/routes/0")
            var events: [EtcdWatchStream.Message.Event] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while events.count < 2, ContinuousClock.now < deadline {
                events += try await Self.next(stream, deadline: deadline).events
            }
            #expect(events.map(\.kv.key) == ["/apisix/routes/1", "/apisix/routes/0"])
            #expect(events.map(\.deleted) == [false, true])
            #expect(events.first?.kv.modRevision == put)
            stream.close()
            // Changes while no watch is open arrive when one is opened from the last revision seen + 1.
            try await server.put("/apisix/routes/2", "{}")
            try await server.put("/apisix/routes/3", "{}")
            let resumed = try client.watch(prefix: "/apisix/", from: (events.last?.kv.modRevision ?? 0) + 1)
            defer { resumed.close() }
            var later: [String] = []
            while later.count < 2, ContinuousClock.now < deadline + .seconds(10) {
                later += try await Self.next(resumed, deadline: .now + .seconds(10)).events.map(\.kv.key)
            }
            #expect(later == ["/apisix/routes/2", "/apisix/routes/3"])
        }
    }

    @Test("a watch from a compacted revision reports the compaction")
    func watchCompacted() async throws {
        try await Self.withEtcd("compact") { server, client in
            let old = try client.put("/apisix/routes/1", Array("{}".utf8))
            try await server.put("/apisix/routes/1", "{\"v\":2}")
            try await server.compact()
            var compacted = false
            do {
                let stream = try client.watch(prefix: "/apisix/", from: old)
                defer { stream.close() }
                let deadline = ContinuousClock.now + .seconds(10)
                while !compacted, ContinuousClock.now < deadline {
                    let message = try await Self.next(stream, deadline: deadline)
                    compacted = message.compactRevision > 0
                    #expect(message.events.isEmpty)
                }
            } catch let error as EtcdError where error.code == .compacted {
                compacted = true
            }
            #expect(compacted)
        }
    }

    @Test("with etcd.user set the client authenticates and sends the token; without it etcd refuses")
    func authentication() async throws {
        try await Self.withEtcd("auth") { server, anonymous in
            try await server.ctl(["user", "add", "root:rootpw"])
            try await server.ctl(["user", "add", "gateway:gatewaypw"])
            try await server.ctl(["role", "add", "apisix"])
            try await server.ctl(["role", "grant-permission", "apisix", "--prefix=true", "readwrite", "/apisix/"])
            try await server.ctl(["user", "grant-role", "gateway", "apisix"])
            try await server.ctl(["auth", "enable"])
            var settings = anonymous.settings
            settings.user = "gateway"
            settings.password = "gatewaypw"
            let client = EtcdClient(settings: settings)
            let revision = try client.put("/apisix/routes/1", Array("{}".utf8))
            #expect(try client.range(prefix: "/apisix/").kvs.map(\.modRevision) == [revision])
            let stream = try client.watch(prefix: "/apisix/", from: revision)
            defer { stream.close() }
            #expect(try await Self.next(stream, deadline: .now + .seconds(10)).created)
            #expect(throws: EtcdError.self) { try anonymous.range(prefix: "/apisix/") }
            settings.password = "wrong"
            #expect {
                _ = try EtcdClient(settings: settings).range(prefix: "/apisix/")
            } throws: { error in
                let failure = error as? EtcdError
                return failure?.code == .authentication && failure?.description.contains("wrong") == false
            }
        }
    }

    @Test("an endpoint that refuses is skipped for the next one")
    func endpointsInTurn() async throws {
        try await Self.withEtcd("failover") { server, _ in
            let dead = try RefusingPort()
            var settings = EtcdSettings()
            settings.endpoints = [
                EtcdSettings.Endpoint(host: "127.0.0.1", port: dead.port),
                EtcdSettings.Endpoint(host: "127.0.0.1", port: server.clientPort),
            ]
            settings.timeout = .seconds(5)
            let client = EtcdClient(settings: settings)
            try client.put("/apisix/routes/1", Array("{}".utf8))
            #expect(try client.range(prefix: "/apisix/").kvs.count == 1)
            #expect(client.currentEndpoint.port == server.clientPort)
            await server.stop()
            #expect(throws: EtcdError.self) { try client.range(prefix: "/apisix/") }
        }
    }

    @Test("the store's compare-and-swap refuses a write over a change it has not seen, and writes nothing")
    func storeConflict() async throws {
        try await Self.withEtcd("store-cas") { server, client in
            let directory = try TestFiles.makeTemporaryDirectory("etcd-store-cas")
            defer { try? FileManager.default.removeItem(at: directory) }
            var settings = client.settings
            settings.cachePath = directory.appendingPathComponent("cache.json").path
            let store = EtcdConfigStore(settings: settings, logger: Logger(label: "test"))
            try await server.put("/apisix/routes/1", #"{"id":"1","uri":"/a"}"#)
            store.replace(with: try client.range(prefix: "/apisix/"))
            let seen = store.candidate()
            #expect(seen.list(.routes).map(\.id) == ["1"])
            var proposed = seen
            proposed.revision += 1
            proposed[.routes, "1"]?.json = #"{"id":"1","uri":"/b"}"#
            proposed[.routes, "2"] = StoredResource(
                kind: .routes,
                id: "2",
                json: #"{"id":"2","uri":"/c"}"#,
                createdIndex: 0,
                modifiedIndex: 0
            )
            // Another writer changes route 1 after this store last saw it.
            try await server.put("/apisix/routes/1", #"{"id":"1","uri":"/theirs"}"#)
            #expect {
                _ = try store.commit(proposed, over: seen)
            } throws: { error in
                (error as? AdminStoreError)?.code == .conflict
            }
            #expect(try client.get("/apisix/routes/2") == nil)
            // Once it has seen the change, the same write goes through, with etcd's revisions.
            store.replace(with: try client.range(prefix: "/apisix/"))
            let current = store.candidate()
            // A write not built on what the store last saw is refused before anything is sent.
            #expect {
                _ = try store.commit(current, over: current)
            } throws: { error in
                (error as? AdminStoreError)?.code == .conflict
            }
            var retried = current
            retried.revision += 1
            retried[.routes, "1"]?.json = #"{"id":"1","uri":"/b"}"#
            let stored = try store.commit(retried, over: current)
            let route = try #require(try client.get("/apisix/routes/1"))
            #expect(String(decoding: route.value, as: UTF8.self) == #"{"id":"1","uri":"/b"}"#)
            #expect(stored[.routes, "1"]?.modifiedIndex == route.modRevision)
            #expect(stored.revision == route.modRevision)
            #expect(
                try FileResourceStore(path: settings.cachePath).load()[.routes, "1"]?.json == #"{"id":"1","uri":"/b"}"#
            )
        }
    }
}
