import TestSupport
import Testing

@testable import Gateway

/// The Admin API in etcd mode: a compare-and-swap conflict is a 409 that changes nothing, and reads and
/// writes start from the resources in force (which the etcd watch changes too).
@Suite struct EtcdAdminConflictTests {
    @Test func aConflictIs409AndChangesNothing() {
        let admin = AdminHarness()
        admin.result.withLock {
            $0 = .conflict("/apisix/routes/1 was changed in etcd by someone else since this gateway last saw it")
        }
        let reply = admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/a"}"#)
        #expect(reply.status == 409)
        #expect(reply.errorMessage?.contains("changed in etcd by someone else") == true)
        #expect(admin.api.resources == ResourceSet())
        #expect(admin.send(.get, "/apisix/admin/routes/1").status == 404)
    }

    @Test func readsAndWritesFollowTheLiveResources() throws {
        let live = LockedValue(ResourceSet())
        let api = AdminAPI(
            keys: [AdminConfig.Key(key: AdminHarness.adminKey, role: .admin)],
            allow: IPNetwork.loopback,
            fileName: "gateway.yaml",
            fileResources: { ResourceSet() },
            initial: ResourceSet(),
            apply: { proposed in
                // As the etcd store does: the stored set carries the store's own revision.
                var stored = proposed
                stored.revision = 100
                for resource in proposed.list(.routes) where resource.modifiedIndex == proposed.revision {
                    stored[.routes, resource.id]?.modifiedIndex = 100
                }
                live.withLock { $0 = stored }
                return .applied
            },
            now: { 1_700_000_000 },
            live: { live.value }
        )
        func send(_ method: HTTPMethod, _ path: String, _ body: String = "") -> AdminReply {
            let request = ControlRequest(
                method: method,
                path: path,
                query: "",
                headers: [("x-api-key", AdminHarness.adminKey)],
                body: Array(body.utf8)
            )
            return AdminReply(api.handle(request, peer: AdminHarness.loopback))
        }
        // Someone else's route arrives through the watch: the API shows it and builds on it.
        live.withLock {
            $0[.routes, "theirs"] = StoredResource(
                kind: .routes,
                id: "theirs",
                json: #"{"id":"theirs","uri":"/theirs"}"#,
                createdIndex: 40,
                modifiedIndex: 41
            )
            $0.revision = 41
        }
        #expect(send(.get, "/apisix/admin/routes/theirs").status == 200)
        let created = send(.put, "/apisix/admin/routes/mine", #"{"uri":"/mine"}"#)
        #expect(created.status == 201)
        // The answer carries the index the store gave it.
        #expect(created.json["modifiedIndex"] == .integer(100))
        #expect(live.value.list(.routes).map(\.id) == ["mine", "theirs"])
    }
}
