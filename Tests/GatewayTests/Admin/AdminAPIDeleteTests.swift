import Testing

@testable import Gateway

@Suite struct AdminAPIDeleteTests {
    @Test func deleteAnswersDeletedAndTheKey() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/a"}"#)
        let reply = admin.send(.delete, "/apisix/admin/routes/1")
        #expect(reply.status == 200)
        #expect(reply.contentType == "application/json")
        #expect(reply.json.text == #"{"deleted":"1","key":"/apisix/routes/1"}"#)
        #expect(admin.api.resources.list(.routes).isEmpty)
        #expect(admin.api.resources.revision == 2)
        #expect(admin.send(.get, "/apisix/admin/routes/1").status == 404)
    }

    @Test func deletingAnUnknownIdIs404AndNeedsAnId() {
        let admin = AdminHarness()
        let reply = admin.send(.delete, "/apisix/admin/upstreams/9")
        #expect(reply.status == 404)
        #expect(reply.json.text == #"{"message":"Key not found"}"#)
        #expect(admin.send(.delete, "/apisix/admin/upstreams").errorMessage == "missing upstream id")
        #expect(admin.send(.delete, "/apisix/admin/consumers").errorMessage == "missing consumer name")
        #expect(admin.proposals.value.isEmpty)
    }

    @Test func aReferencedUpstreamOrServiceStaysUnlessForced() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/upstreams/u", body: #"{"nodes":{"a:80":1}}"#)
        admin.send(.put, "/apisix/admin/services/s", body: #"{"upstream_id":"u"}"#)
        admin.send(.put, "/apisix/admin/routes/r", body: #"{"uri":"/","service_id":"s"}"#)

        let service = admin.send(.delete, "/apisix/admin/services/s")
        #expect(service.status == 400)
        #expect(service.errorMessage == "can not delete this service directly, route [r] is still using it now")
        let upstream = admin.send(.delete, "/apisix/admin/upstreams/u")
        #expect(upstream.status == 400)
        #expect(upstream.errorMessage == "can not delete this upstream, service [s] is still using it now")
        #expect(admin.send(.delete, "/apisix/admin/services/s", query: "force=anyvalue").status == 400)
        #expect(admin.proposals.value.count == 3)

        let forced = admin.send(.delete, "/apisix/admin/services/s", query: "force=true")
        #expect(forced.status == 200)
        #expect(admin.api.resources[.services, "s"] == nil)
        #expect(admin.send(.delete, "/apisix/admin/upstreams/u").status == 200)
    }

    @Test func aRouteNamingAnUpstreamById() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/upstreams/1", body: #"{"nodes":{"a:80":1}}"#)
        admin.send(.put, "/apisix/admin/routes/r", body: #"{"uri":"/","upstream_id":1}"#)
        let reply = admin.send(.delete, "/apisix/admin/upstreams/1")
        #expect(reply.errorMessage == "can not delete this upstream, route [r] is still using it now")
        admin.send(.delete, "/apisix/admin/routes/r")
        #expect(admin.send(.delete, "/apisix/admin/upstreams/1").status == 200)
    }

    @Test func aReferenceFromTheFileCountsToo() throws {
        let file = AdminHarness.set([
            try AdminHarness.resource(.routes, "f", #"{"id":"f","uri":"/","upstream_id":"u"}"#)
        ])
        let admin = AdminHarness(file: file)
        admin.send(.put, "/apisix/admin/upstreams/u", body: #"{"nodes":{"a:80":1}}"#)
        let reply = admin.send(.delete, "/apisix/admin/upstreams/u")
        #expect(reply.errorMessage == "can not delete this upstream, route [f] is still using it now")
    }

    @Test func aConsumersCredentialsGoWithIt() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jack"}"#)
        admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jackson"}"#)
        admin.send(.put, "/apisix/admin/consumers/jack/credentials/a", body: #"{"plugins":{}}"#)
        admin.send(.put, "/apisix/admin/consumers/jack/credentials/b", body: #"{"plugins":{}}"#)
        admin.send(.put, "/apisix/admin/consumers/jackson/credentials/a", body: #"{"plugins":{}}"#)
        let reply = admin.send(.delete, "/apisix/admin/consumers/jack")
        #expect(reply.json.text == #"{"deleted":"1","key":"/apisix/consumers/jack"}"#)
        #expect(admin.api.resources.list(.credentials).map(\.id) == ["jackson/a"])
        #expect(admin.proposals.value.last?.list(.credentials).map(\.id) == ["jackson/a"])
        let credential = admin.send(.delete, "/apisix/admin/consumers/jackson/credentials/a")
        #expect(credential.json.text == #"{"deleted":"1","key":"/apisix/consumers/jackson/credentials/a"}"#)
        #expect(admin.api.resources.list(.credentials).isEmpty)
    }
}
