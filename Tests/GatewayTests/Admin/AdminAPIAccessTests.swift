import Testing

@testable import Gateway

@Suite struct AdminAPIAccessTests {
    @Test func withoutAKeyItIs401InAPISIXsShape() {
        let admin = AdminHarness()
        let reply = admin.send(.get, "/apisix/admin/routes", key: nil)
        #expect(reply.status == 401)
        #expect(reply.contentType == "application/json")
        #expect(reply.errorMessage == "failed to check token")
        #expect(reply.json["description"]?.string == "missing apikey")
        #expect(admin.send(.get, "/apisix/admin/routes", key: "").status == 401)
    }

    @Test func aWrongKeyIs401() {
        let admin = AdminHarness()
        for key in [
            "wrong", AdminHarness.adminKey + "x", String(AdminHarness.adminKey.dropLast()),
            "EDD1C9F034335F136F87AD84B625C8F1",
        ] {
            let reply = admin.send(.get, "/apisix/admin/routes", key: key)
            #expect(reply.status == 401)
            #expect(reply.json["description"]?.string == "wrong apikey")
        }
    }

    @Test func theKeyMayComeAsTheApiKeyQueryArgument() {
        let admin = AdminHarness()
        let reply = admin.send(.get, "/apisix/admin/routes", query: "api_key=\(AdminHarness.adminKey)", key: nil)
        #expect(reply.status == 200)
        #expect(admin.send(.get, "/apisix/admin/routes", query: "api_key=nope", key: nil).status == 401)
    }

    @Test func aViewerMayOnlyGet() {
        let admin = AdminHarness()
        let viewer = AdminHarness.viewerKey
        #expect(admin.send(.get, "/apisix/admin/routes", key: viewer).status == 200)
        #expect(admin.send(.get, "/apisix/admin/routes/1", key: viewer).status == 404)
        for method in [HTTPMethod.put, .post, .patch, .delete] {
            let reply = admin.send(method, "/apisix/admin/routes/1", body: #"{"uri":"/"}"#, key: viewer)
            #expect(reply.status == 401)
            #expect(reply.errorMessage == "failed to check token")
            #expect(reply.json["description"]?.string == "invalid method for role viewer")
        }
        #expect(admin.proposals.value.isEmpty)
    }

    @Test func aPeerOutsideTheAllowListIs403EvenWithAKey() throws {
        let admin = AdminHarness(allow: [try IPNetwork(parsing: "10.0.0.0/8")])
        let reply = admin.send(.get, "/apisix/admin/routes", peer: [192, 168, 1, 1])
        #expect(reply.status == 403)
        #expect(reply.errorMessage?.contains("admin.allow") == true)
        #expect(admin.send(.get, "/apisix/admin/routes", peer: [10, 1, 2, 3]).status == 200)
        #expect(admin.send(.get, "/apisix/admin/routes", key: nil, peer: [192, 168, 1, 1]).status == 403)
    }

    @Test func theDefaultAllowListIsLoopbackForBothFamilies() {
        let admin = AdminHarness()
        let ipv6Loopback = [UInt8](repeating: 0, count: 15) + [1]
        let mappedLoopback = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]
        #expect(admin.send(.get, "/apisix/admin/routes", peer: ipv6Loopback).status == 200)
        #expect(admin.send(.get, "/apisix/admin/routes", peer: mappedLoopback).status == 200)
        #expect(admin.send(.get, "/apisix/admin/routes", peer: [10, 0, 0, 1]).status == 403)
    }

    @Test(arguments: [
        "/apisix/admin/protos", "/apisix/admin/", "/apisix/admin/credentials", "/apisix/routes", "/metrics",
        "/apisix/admin/routes/1/methods", "/apisix/admin/routes/%zz",
    ])
    func anUnknownPathIs404WithAnErrorMessage(path: String) {
        let reply = AdminHarness().send(.get, path)
        #expect(reply.status == 404)
        #expect(reply.contentType == "application/json")
        #expect(reply.errorMessage?.isEmpty == false)
    }

    @Test func methodsAPISIXDoesNotServeAre405() {
        let admin = AdminHarness()
        let cases: [(HTTPMethod, String, String)] = [
            (.post, "/apisix/admin/consumers", "not supported `POST` method for consumer"),
            (.patch, "/apisix/admin/consumers/jack", "not supported `PATCH` method for consumer"),
            (.post, "/apisix/admin/consumers/jack/credentials", "not supported `POST` method for credential"),
            (.patch, "/apisix/admin/consumers/jack/credentials/c", "not supported `PATCH` method for credential"),
            (.post, "/apisix/admin/global_rules", "not supported `POST` method for global rule"),
            (.options, "/apisix/admin/routes", "method OPTIONS is not supported by the Admin API"),
        ]
        for (method, path, message) in cases {
            let reply = admin.send(method, path, body: "{}")
            #expect(reply.status == 405)
            #expect(reply.errorMessage == message)
        }
    }

    @Test func keysAreComparedWhole() {
        let keyring = AdminKeyring([
            AdminConfig.Key(key: "abc", role: .viewer), AdminConfig.Key(key: "abcd", role: .admin),
        ])
        #expect(keyring.role(of: "abc") == .viewer)
        #expect(keyring.role(of: "abcd") == .admin)
        #expect(keyring.role(of: "ab") == nil)
        #expect(keyring.role(of: "abcde") == nil)
        #expect(keyring.role(of: "") == nil)
        #expect(AdminKeyring([]).role(of: "abc") == nil)
    }

    @Test func pathsSplitIntoKindIdAndSubPath() {
        #expect(AdminPath(path: "/apisix/admin/routes") == AdminPath(kind: .routes))
        #expect(AdminPath(path: "/apisix/admin/routes/") == AdminPath(kind: .routes))
        #expect(AdminPath(path: "/apisix/admin/routes/r%201") == AdminPath(kind: .routes, id: "r 1"))
        #expect(
            AdminPath(path: "/apisix/admin/routes/1/upstream/nodes")
                == AdminPath(kind: .routes, id: "1", subPath: ["upstream", "nodes"])
        )
        #expect(AdminPath(path: "/apisix/admin/global_rules/g") == AdminPath(kind: .globalRules, id: "g"))
        #expect(
            AdminPath(path: "/apisix/admin/consumers/jack/credentials/c1")
                == AdminPath(kind: .credentials, owner: "jack", id: "c1")
        )
        #expect(
            AdminPath(path: "/apisix/admin/consumers/jack/credentials")
                == AdminPath(kind: .credentials, owner: "jack")
        )
        #expect(AdminPath(path: "/apisix/admin/consumers/jack") == AdminPath(kind: .consumers, id: "jack"))
        #expect(AdminPath(path: "/apisix/admin/upstream") == nil)
        #expect(AdminResourceKind.credentials.key(for: "jack/c1") == "/apisix/consumers/jack/credentials/c1")
        #expect(AdminResourceKind.globalRules.key(for: "g") == "/apisix/global_rules/g")
    }

    @Test func queryArgumentsArePercentDecodedAndTheFirstWins() {
        let query = AdminQuery("api_key=a%2Bb+c&page=2&page=3&flag&bad=%zz")
        #expect(query["api_key"] == "a+b+c")
        #expect(query["page"] == "2")
        #expect(query["flag"] == "")
        #expect(query["bad"] == nil)
        #expect(query["missing"] == nil)
    }
}
