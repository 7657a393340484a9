import Testing

@testable import Gateway

@Suite struct AdminAPIWriteTests {
    @Test func putCreatesWith201ThenReplacesWith200KeepingCreateTime() {
        let admin = AdminHarness()
        let created = admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/a","name":"first"}"#)
        #expect(created.status == 201)
        #expect(created.contentType == "application/json")
        #expect(created.json["key"] == .string("/apisix/routes/1"))
        #expect(created.json["source"] == .string("api"))
        #expect(created.json["createdIndex"] == .integer(1))
        #expect(created.value?["create_time"] == .integer(1_700_000_000))
        admin.clock.withLock { $0 = 1_700_000_100 }
        let replaced = admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/b"}"#)
        #expect(replaced.status == 200)
        #expect(
            replaced.value?.text == #"{"create_time":1700000000,"id":"1","update_time":1700000100,"uri":"/b"}"#
        )
        #expect(replaced.json["createdIndex"] == .integer(1))
        #expect(replaced.json["modifiedIndex"] == .integer(2))
        #expect(admin.api.resources.revision == 2)
        #expect(admin.proposals.value.map(\.revision) == [1, 2])
    }

    @Test func everyWriteProposesTheWholeSet() throws {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/upstreams/u", body: #"{"nodes":{"127.0.0.1:80":1},"type":"roundrobin"}"#)
        admin.send(.put, "/apisix/admin/routes/r", body: #"{"uri":"/","upstream_id":"u"}"#)
        let last = try #require(admin.proposals.value.last)
        #expect(last == admin.api.resources)
        #expect(last.list(.upstreams).map(\.id) == ["u"])
        #expect(last.list(.routes).map(\.id) == ["r"])
        let route = try #require(last[.routes, "r"])
        #expect(
            route.json == #"{"create_time":1700000000,"id":"r","update_time":1700000000,"upstream_id":"u","uri":"/"}"#
        )
        #expect(route.createdIndex == 2)
    }

    @Test func putWithTheIdInTheBodyIsAccepted() {
        let admin = AdminHarness()
        let reply = admin.send(.put, "/apisix/admin/routes", body: #"{"id":"getting-started-ip","uri":"/ip"}"#)
        #expect(reply.status == 201)
        #expect(reply.json["key"] == .string("/apisix/routes/getting-started-ip"))
        let numeric = admin.send(.put, "/apisix/admin/upstreams", body: #"{"id":1,"nodes":{}}"#)
        #expect(numeric.status == 201)
        #expect(numeric.value?["id"] == .string("1"))
        #expect(admin.send(.put, "/apisix/admin/routes/7", body: #"{"id":7,"uri":"/"}"#).status == 201)
    }

    @Test(arguments: [
        ("/apisix/admin/routes/1", #"{"id":"2","uri":"/"}"#, "wrong route id"),
        ("/apisix/admin/routes", #"{"uri":"/"}"#, "missing route id"),
        (
            "/apisix/admin/routes/1", #"{"id":1.5}"#,
            "invalid configuration: id must be a string or an integer, not number"
        ),
        (
            "/apisix/admin/routes/1", #"{"id":true}"#,
            "invalid configuration: id must be a string or an integer, not boolean"
        ),
        (
            "/apisix/admin/routes/a%20b", #"{}"#,
            #"invalid configuration: id "a b" must be 1 to 64 characters of letters, digits, '.', '_' and '-'"#
        ),
        (
            "/apisix/admin/routes", #"{"id":""}"#,
            #"invalid configuration: id "" must be 1 to 64 characters of letters, digits, '.', '_' and '-'"#
        ),
        ("/apisix/admin/routes/1", "", "missing configurations"),
        ("/apisix/admin/routes/1", "  \n", "missing configurations"),
        ("/apisix/admin/routes/1", "[1]", "invalid configuration: the body must be a JSON object, not array"),
        (
            "/apisix/admin/routes/1", #"{"uri": }"#,
            "invalid request body: unexpected character '}', expected a value at byte 8"
        ),
        ("/apisix/admin/consumers/jack", #"{"username":"jill"}"#, "wrong username"),
        ("/apisix/admin/consumers", #"{"desc":"x"}"#, "missing consumer username"),
        ("/apisix/admin/consumers", #"{"username":1}"#, "invalid configuration: username must be a string, not number"),
        (
            "/apisix/admin/consumers/j.ack", #"{}"#,
            #"invalid configuration: username "j.ack" must be 1 to 100 characters of letters, digits, '_' and '-'"#
        ),
    ])
    func aBadPutIs400AndChangesNothing(path: String, body: String, message: String) {
        let admin = AdminHarness()
        let reply = admin.send(.put, path, body: body)
        #expect(reply.status == 400)
        #expect(reply.errorMessage == message)
        #expect(admin.proposals.value.isEmpty)
        #expect(admin.api.resources == ResourceSet())
    }

    @Test func postGeneratesAnEighteenDigitIdAndAnswers201() throws {
        let admin = AdminHarness()
        var ids: Set<String> = []
        for _ in 0..<20 {
            let reply = admin.send(.post, "/apisix/admin/routes", body: #"{"uri":"/p"}"#)
            #expect(reply.status == 201)
            let id = try #require(reply.value?["id"]?.string)
            #expect(id.count == 18)
            #expect(id.allSatisfy { $0.isNumber })
            #expect(id.hasPrefix("1700000000"))
            #expect(reply.json["key"] == .string("/apisix/routes/\(id)"))
            ids.insert(id)
        }
        #expect(ids.count == 20)
        #expect(admin.api.resources.list(.routes).count == 20)
    }

    @Test func postRefusesAnId() {
        let admin = AdminHarness()
        #expect(
            admin.send(.post, "/apisix/admin/routes", body: #"{"id":"1"}"#).errorMessage
                == "wrong route id, do not need it"
        )
        #expect(
            admin.send(.post, "/apisix/admin/routes/1", body: #"{}"#).errorMessage == "wrong route id, do not need it"
        )
        #expect(admin.send(.post, "/apisix/admin/services", body: "").errorMessage == "missing configurations")
        #expect(admin.proposals.value.isEmpty)
    }

    @Test func consumersTakeTheirIdFromUsernameAndCredentialsNeedTheirConsumer() {
        let admin = AdminHarness()
        let orphan = admin.send(.put, "/apisix/admin/consumers/jack/credentials/k1", body: #"{"plugins":{}}"#)
        #expect(orphan.status == 400)
        #expect(orphan.errorMessage == "consumer [jack] does not exist; create it before its credentials")
        let consumer = admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jack","plugins":{}}"#)
        #expect(consumer.status == 201)
        #expect(consumer.json["key"] == .string("/apisix/consumers/jack"))
        #expect(consumer.value?["username"] == .string("jack"))
        #expect(consumer.value?["id"] == nil)
        #expect(admin.send(.put, "/apisix/admin/consumers/jack", body: #"{"desc":"d"}"#).status == 200)
        let credential = admin.send(.put, "/apisix/admin/consumers/jack/credentials/k1", body: #"{"plugins":{}}"#)
        #expect(credential.status == 201)
        #expect(credential.json["key"] == .string("/apisix/consumers/jack/credentials/k1"))
        #expect(credential.value?["id"] == .string("k1"))
        #expect(admin.api.resources[.credentials, "jack/k1"] != nil)
    }

    @Test func aRejectedWriteIs400NamingEveryProblemAndChangesNothing() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/a"}"#)
        let before = admin.api.resources
        admin.result.withLock {
            $0 = .rejected(["upstream.nodes: must not be empty", "plugins.foo: unknown plugin foo"])
        }
        for (method, path) in [
            (HTTPMethod.put, "/apisix/admin/routes/1"), (.post, "/apisix/admin/routes"),
            (.patch, "/apisix/admin/routes/1"), (.delete, "/apisix/admin/routes/1"),
        ] {
            let reply = admin.send(method, path, body: #"{"uri":"/b"}"#)
            #expect(reply.status == 400)
            #expect(
                reply.errorMessage
                    == "invalid configuration: upstream.nodes: must not be empty; plugins.foo: unknown plugin foo"
            )
            #expect(admin.api.resources == before)
        }
        #expect(admin.proposals.value.count == 5)
        #expect(admin.send(.get, "/apisix/admin/routes/1").value?["uri"] == .string("/a"))
        admin.result.withLock { $0 = .applied }
        let next = admin.send(.put, "/apisix/admin/routes/2", body: #"{"uri":"/c"}"#)
        #expect(next.json["createdIndex"] == .integer(2))
    }

    @Test func aStoreFailureIs503AndChangesNothing() {
        let admin = AdminHarness()
        admin.result.withLock { $0 = .storeFailed("data/resources.json: No space left on device") }
        let reply = admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/a"}"#)
        #expect(reply.status == 503)
        #expect(reply.errorMessage?.contains("No space left on device") == true)
        #expect(admin.api.resources == ResourceSet())
        #expect(admin.send(.get, "/apisix/admin/routes/1").status == 404)
    }

    @Test func resourcesFromTheFileAreReadOnly() throws {
        let file = AdminHarness.set([
            try AdminHarness.resource(.routes, "1", #"{"id":"1","uri":"/file"}"#),
            try AdminHarness.resource(.consumers, "jack", #"{"username":"jack"}"#),
        ])
        let admin = AdminHarness(file: file)
        let message =
            "route [1] is defined in gateway.yaml and is read-only through the Admin API; change it in gateway.yaml"
        for (method, path, body) in [
            (HTTPMethod.put, "/apisix/admin/routes/1", #"{"uri":"/x"}"#),
            (.put, "/apisix/admin/routes", #"{"id":"1","uri":"/x"}"#),
            (.patch, "/apisix/admin/routes/1", #"{"uri":"/x"}"#),
            (.patch, "/apisix/admin/routes/1/uri", #""/x""#),
            (.delete, "/apisix/admin/routes/1", ""),
        ] {
            let reply = admin.send(method, path, body: body)
            #expect(reply.status == 400)
            #expect(reply.errorMessage == message)
        }
        let consumer = admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jack"}"#)
        #expect(consumer.errorMessage?.contains("consumer [jack] is defined in gateway.yaml") == true)
        #expect(admin.proposals.value.isEmpty)
        // A file-defined consumer may still get credentials through the API.
        #expect(admin.send(.put, "/apisix/admin/consumers/jack/credentials/k", body: #"{"plugins":{}}"#).status == 201)
        // The same id under another kind is a different resource.
        #expect(admin.send(.put, "/apisix/admin/upstreams/1", body: #"{"nodes":{}}"#).status == 201)
    }

    @Test func theInitialSetIsWhereRevisionsContinue() throws {
        var initial = AdminHarness.set([
            try AdminHarness.resource(.routes, "old", #"{"id":"old","uri":"/o"}"#, index: 4)
        ])
        initial.revision = 7
        let admin = AdminHarness(initial: initial)
        #expect(admin.send(.get, "/apisix/admin/routes/old").json["source"] == .string("api"))
        let reply = admin.send(.put, "/apisix/admin/routes/new", body: #"{"uri":"/n"}"#)
        #expect(reply.json["createdIndex"] == .integer(8))
        #expect(admin.api.resources.list(.routes).map(\.id) == ["new", "old"])
    }
}
