import Testing

@testable import Gateway

@Suite struct AdminAPIPatchTests {
    static func harnessWithRoute() -> AdminHarness {
        let admin = AdminHarness()
        admin.send(
            .put,
            "/apisix/admin/routes/1",
            body:
                #"{"uri":"/a","methods":["GET","POST"],"desc":"d","upstream":{"type":"roundrobin","nodes":{"a:80":1}}}"#
        )
        admin.clock.withLock { $0 = 1_700_000_500 }
        return admin
    }

    @Test func aMergePatchMergesObjectsReplacesArraysAndDeletesOnNull() {
        let admin = Self.harnessWithRoute()
        let reply = admin.send(
            .patch,
            "/apisix/admin/routes/1",
            body: #"{"methods":["PUT"],"desc":null,"upstream":{"nodes":{"b:80":2,"a:80":null}}}"#
        )
        #expect(reply.status == 200)
        #expect(
            reply.value?.text
                == #"{"create_time":1700000000,"id":"1","methods":["PUT"],"update_time":1700000500,"#
                + #""upstream":{"nodes":{"b:80":2},"type":"roundrobin"},"uri":"/a"}"#
        )
        #expect(reply.json["createdIndex"] == .integer(1))
        #expect(reply.json["modifiedIndex"] == .integer(2))
        #expect(admin.send(.get, "/apisix/admin/routes/1").value == reply.value)
    }

    @Test func aSubPathPatchReplacesTheValueThere() {
        let admin = Self.harnessWithRoute()
        let methods = admin.send(.patch, "/apisix/admin/routes/1/methods", body: #"["GET"]"#)
        #expect(methods.status == 200)
        #expect(methods.value?["methods"] == .array([.string("GET")]))
        let nodes = admin.send(.patch, "/apisix/admin/routes/1/upstream/nodes", body: #"{"c:80":5}"#)
        #expect(nodes.value?["upstream"]?.text == #"{"nodes":{"c:80":5},"type":"roundrobin"}"#)
        let uri = admin.send(.patch, "/apisix/admin/routes/1/uri", body: #""/z""#)
        #expect(uri.value?["uri"] == .string("/z"))
        let created = admin.send(.patch, "/apisix/admin/routes/1/plugins/key-auth", body: "{}")
        #expect(created.value?["plugins"]?.text == #"{"key-auth":{}}"#)
        #expect(admin.api.resources.revision == 5)
    }

    @Test(arguments: [
        ("/apisix/admin/routes/1", "[1]", 400, "invalid configuration: a PATCH body must be a JSON object, not array"),
        ("/apisix/admin/routes/1", "", 400, "missing new configuration"),
        ("/apisix/admin/routes/1", "{", 400, "invalid request body: expected a string key at byte 1"),
        ("/apisix/admin/routes/1", #"{"id":"2"}"#, 400, "wrong route id"),
        ("/apisix/admin/routes/1/id", #""2""#, 400, "wrong route id"),
        ("/apisix/admin/routes/1/uri/x", "1", 400, "invalid sub path uri/x: a value on the way is not an object"),
        ("/apisix/admin/routes", "{}", 400, "missing route id"),
    ])
    func aBadPatchIs400AndChangesNothing(path: String, body: String, status: Int, message: String) {
        let admin = Self.harnessWithRoute()
        let before = admin.api.resources
        let reply = admin.send(.patch, path, body: body)
        #expect(reply.status == status)
        #expect(reply.errorMessage == message)
        #expect(admin.api.resources == before)
        #expect(admin.proposals.value.count == 1)
    }

    @Test func patchingAnUnknownIdIs404() {
        let admin = Self.harnessWithRoute()
        let reply = admin.send(.patch, "/apisix/admin/routes/2", body: #"{"uri":"/x"}"#)
        #expect(reply.status == 404)
        #expect(reply.json.text == #"{"message":"Key not found"}"#)
    }

    @Test func patchKeepsTheIdWhenItIsRemovedAndCannotSetTheTimestamps() {
        let admin = Self.harnessWithRoute()
        let reply = admin.send(.patch, "/apisix/admin/routes/1", body: #"{"id":null,"create_time":5,"update_time":6}"#)
        #expect(reply.status == 200)
        #expect(reply.value?["id"] == .string("1"))
        #expect(reply.value?["create_time"] == .integer(1_700_000_000))
        #expect(reply.value?["update_time"] == .integer(1_700_000_500))
    }

    @Test func globalRulesTakePatches() {
        let admin = AdminHarness()
        #expect(admin.send(.put, "/apisix/admin/global_rules/1", body: #"{"plugins":{"a":{}}}"#).status == 201)
        let reply = admin.send(.patch, "/apisix/admin/global_rules/1", body: #"{"plugins":{"b":{}}}"#)
        #expect(reply.status == 200)
        #expect(reply.json["key"] == .string("/apisix/global_rules/1"))
        #expect(reply.value?["plugins"]?.text == #"{"a":{},"b":{}}"#)
    }
}
