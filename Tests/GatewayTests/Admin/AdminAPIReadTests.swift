import Testing

@testable import Gateway

@Suite struct AdminAPIReadTests {
    static func fileSet() throws -> ResourceSet {
        AdminHarness.set([
            try AdminHarness.resource(.routes, "file-route", #"{"id":"file-route","uri":"/file"}"#, index: 0),
            try AdminHarness.resource(.upstreams, "file-up", #"{"id":"file-up","nodes":{"10.0.0.1:80":1}}"#, index: 0),
        ])
    }

    @Test func aListCoversBothSourcesAndSaysWhereEachCameFrom() throws {
        let admin = AdminHarness(file: try Self.fileSet())
        admin.send(.put, "/apisix/admin/routes/b", body: #"{"uri":"/b"}"#)
        admin.send(.put, "/apisix/admin/routes/a", body: #"{"uri":"/a"}"#)
        let reply = admin.send(.get, "/apisix/admin/routes")
        #expect(reply.status == 200)
        #expect(reply.contentType == "application/json")
        #expect(reply.json["total"] == .integer(3))
        guard case .array(let list) = reply.json["list"] else {
            Issue.record("no list in \(reply.json.text)")
            return
        }
        #expect(
            list.map { $0["key"]?.string } == ["/apisix/routes/file-route", "/apisix/routes/b", "/apisix/routes/a"]
        )
        #expect(list.map { $0["source"]?.string } == ["file", "api", "api"])
        #expect(list.map { $0["createdIndex"]?.integer } == [0, 1, 2])
        #expect(list.map { $0["modifiedIndex"]?.integer } == [0, 1, 2])
        #expect(list[1]["value"]?["uri"] == .string("/b"))
        #expect(list[1]["value"]?["id"] == .string("b"))
    }

    @Test func anEmptyListIsTotalZero() {
        let reply = AdminHarness().send(.get, "/apisix/admin/upstreams")
        #expect(reply.status == 200)
        #expect(reply.json.text == #"{"list":[],"total":0}"#)
    }

    @Test func oneResourceHasTheEnvelopeWithTimestampsAndSource() throws {
        let admin = AdminHarness(file: try Self.fileSet())
        admin.send(.put, "/apisix/admin/routes/1", body: #"{"uri":"/hello","methods":["GET"]}"#)
        let reply = admin.send(.get, "/apisix/admin/routes/1")
        #expect(reply.status == 200)
        #expect(reply.json["key"] == .string("/apisix/routes/1"))
        #expect(reply.json["source"] == .string("api"))
        #expect(reply.json["createdIndex"] == .integer(1))
        #expect(reply.json["modifiedIndex"] == .integer(1))
        #expect(
            reply.value?.text
                == #"{"create_time":1700000000,"id":"1","methods":["GET"],"update_time":1700000000,"uri":"/hello"}"#
        )
        let file = admin.send(.get, "/apisix/admin/upstreams/file-up")
        #expect(file.status == 200)
        #expect(file.json["source"] == .string("file"))
        #expect(file.json["key"] == .string("/apisix/upstreams/file-up"))
    }

    @Test func anUnknownIdIs404KeyNotFound() {
        let reply = AdminHarness().send(.get, "/apisix/admin/routes/nope")
        #expect(reply.status == 404)
        #expect(reply.json.text == #"{"message":"Key not found"}"#)
    }

    @Test func pagesFollowAPISIX() throws {
        let admin = AdminHarness()
        for index in 1...25 {
            admin.send(.put, "/apisix/admin/routes/r\(index)", body: #"{"uri":"/\#(index)"}"#)
        }
        func ids(_ query: String) -> [String?] {
            guard case .array(let list) = admin.send(.get, "/apisix/admin/routes", query: query).json["list"] else {
                return []
            }
            return list.map { $0["value"]?["id"]?.string }
        }
        #expect(ids("page=1&page_size=10") == (1...10).map { "r\($0)" })
        #expect(ids("page=3&page_size=10") == (21...25).map { "r\($0)" })
        #expect(ids("page=4&page_size=10") == [])
        #expect(ids("page=0&page_size=10") == (1...10).map { "r\($0)" })
        #expect(ids("page=x&page_size=10") == (1...10).map { "r\($0)" })
        #expect(ids("page=99999999999999999&page_size=500") == [])
        #expect(ids("page=2").count == 25)
        #expect(ids("page_size=10").count == 25)
        let total = admin.send(.get, "/apisix/admin/routes", query: "page=2&page_size=10").json["total"]
        #expect(total == .integer(25))
        for size in ["9", "501"] {
            let reply = admin.send(.get, "/apisix/admin/routes", query: "page=1&page_size=\(size)")
            #expect(reply.status == 400)
            #expect(reply.errorMessage == "page_size must be between 10 and 500")
        }
    }

    @Test func credentialsAreListedPerConsumer() {
        let admin = AdminHarness()
        admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jack"}"#)
        admin.send(.put, "/apisix/admin/consumers", body: #"{"username":"jill"}"#)
        admin.send(.put, "/apisix/admin/consumers/jack/credentials/k1", body: #"{"plugins":{"key-auth":{"key":"a"}}}"#)
        admin.send(.put, "/apisix/admin/consumers/jill/credentials/k1", body: #"{"plugins":{"key-auth":{"key":"b"}}}"#)
        let jack = admin.send(.get, "/apisix/admin/consumers/jack/credentials")
        #expect(jack.json["total"] == .integer(1))
        guard case .array(let list) = jack.json["list"] else {
            Issue.record("no list")
            return
        }
        #expect(list.first?["key"] == .string("/apisix/consumers/jack/credentials/k1"))
        #expect(list.first?["value"]?["id"] == .string("k1"))
        let one = admin.send(.get, "/apisix/admin/consumers/jill/credentials/k1")
        #expect(one.value?["plugins"]?["key-auth"]?["key"] == .string("b"))
        #expect(admin.send(.get, "/apisix/admin/consumers").json["total"] == .integer(2))
        #expect(admin.send(.get, "/apisix/admin/consumers/nobody/credentials").json["total"] == .integer(0))
    }
}
