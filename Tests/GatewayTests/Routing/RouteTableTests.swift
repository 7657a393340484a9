import Testing

@testable import Gateway

@Suite struct RouteTableTests {
    /// Builds a route; `upstreamID` is irrelevant to matching.
    static func route(
        _ id: String,
        _ uris: [String],
        hosts: [String] = [],
        methods: [HTTPMethod] = [],
        priority: Int = 0,
        enabled: Bool = true
    ) -> RouteConfig {
        var route = RouteConfig(id: id, uris: uris)
        route.hosts = hosts
        route.methods = methods
        route.priority = priority
        route.enabled = enabled
        route.upstreamID = "backend"
        return route
    }

    /// The id of the matched route, or nil.
    static func match(_ table: RouteTable, _ path: String, host: String = "", method: HTTPMethod = .get) -> String? {
        var host = host
        var path = path
        let index = host.withUTF8 { hostBytes in
            path.withUTF8 { pathBytes in
                table.match(
                    method: method,
                    host: UnsafeRawBufferPointer(hostBytes),
                    path: UnsafeRawBufferPointer(pathBytes)
                )
            }
        }
        return index >= 0 ? table.routes[index].id : nil
    }

    @Test func exactPathMatchesOnlyItself() {
        let table = RouteTable(routes: [Self.route("a", ["/a/b"])])
        #expect(Self.match(table, "/a/b") == "a")
        #expect(Self.match(table, "/a/b?x=1") == "a")
        #expect(Self.match(table, "/a/b/") == nil)
        #expect(Self.match(table, "/a") == nil)
        #expect(Self.match(table, "/a/bc") == nil)
        #expect(Self.match(table, "/A/b") == nil)
    }

    @Test func rootAndTrailingSlash() {
        let table = RouteTable(routes: [Self.route("root", ["/"]), Self.route("slash", ["/x/"])])
        #expect(Self.match(table, "/") == "root")
        #expect(Self.match(table, "/?q") == "root")
        #expect(Self.match(table, "/x/") == "slash")
        #expect(Self.match(table, "/x") == nil)
        #expect(Self.match(table, "") == nil)
        #expect(Self.match(table, "x") == nil)
        #expect(Self.match(table, "*") == nil)
    }

    @Test func prefixNeedsTheSlashLikeAPISIX() {
        let table = RouteTable(routes: [Self.route("api", ["/api/*"])])
        #expect(Self.match(table, "/api/") == "api")
        #expect(Self.match(table, "/api/x") == "api")
        #expect(Self.match(table, "/api/x/y/z") == "api")
        #expect(Self.match(table, "/api") == nil)
        #expect(Self.match(table, "/apix") == nil)
        #expect(Self.match(table, "/ap") == nil)
    }

    @Test func catchAll() {
        let table = RouteTable(routes: [Self.route("all", ["/*"]), Self.route("a", ["/a"])])
        #expect(Self.match(table, "/") == "all")
        #expect(Self.match(table, "/anything/at/all") == "all")
        #expect(Self.match(table, "/a") == "a")
    }

    @Test func paramMatchesOneNonEmptySegment() {
        let table = RouteTable(routes: [
            Self.route("user", ["/users/:id"]), Self.route("posts", ["/users/:id/posts/:post"]),
        ])
        #expect(Self.match(table, "/users/42") == "user")
        #expect(Self.match(table, "/users/") == nil)
        #expect(Self.match(table, "/users") == nil)
        #expect(Self.match(table, "/users/42/x") == nil)
        #expect(Self.match(table, "/users/42/posts/7") == "posts")
        #expect(Self.match(table, "/users/42/posts/") == nil)
    }

    @Test func paramWithPrefix() {
        let table = RouteTable(routes: [Self.route("files", ["/u/:id/files/*"])])
        #expect(Self.match(table, "/u/1/files/a/b") == "files")
        #expect(Self.match(table, "/u/1/files") == nil)
        #expect(Self.match(table, "/u//files/a") == nil)
    }

    @Test func backtracksFromLiteralToParam() {
        // "/a/b/c" walks the literal "b" edge first, finds nothing for "c" there, and must come back for ":x".
        let table = RouteTable(routes: [Self.route("lit", ["/a/b/d"]), Self.route("param", ["/a/:x/c"])])
        #expect(Self.match(table, "/a/b/c") == "param")
        #expect(Self.match(table, "/a/b/d") == "lit")
    }

    @Test func methods() {
        let table = RouteTable(routes: [
            Self.route("read", ["/r"], methods: [.get, .head]),
            Self.route("write", ["/r"], methods: [.post]),
            Self.route("any", ["/any"]),
        ])
        #expect(Self.match(table, "/r", method: .get) == "read")
        #expect(Self.match(table, "/r", method: .head) == "read")
        #expect(Self.match(table, "/r", method: .post) == "write")
        #expect(Self.match(table, "/r", method: .delete) == nil)
        #expect(Self.match(table, "/any", method: .other) == "any")
        #expect(Self.match(table, "/any", method: .patch) == "any")
    }

    @Test func hostsAreCaseInsensitiveAndIgnorePort() {
        let table = RouteTable(routes: [Self.route("h", ["/"], hosts: ["api.example.com"])])
        #expect(Self.match(table, "/", host: "api.example.com") == "h")
        #expect(Self.match(table, "/", host: "API.Example.COM") == "h")
        #expect(Self.match(table, "/", host: "api.example.com:8080") == "h")
        #expect(Self.match(table, "/", host: "Api.Example.Com.:443") == "h")
        #expect(Self.match(table, "/", host: "example.com") == nil)
        #expect(Self.match(table, "/", host: "api.example.co") == nil)
        #expect(Self.match(table, "/", host: "") == nil)
    }

    @Test func ipv6HostKeepsBrackets() {
        let table = RouteTable(routes: [Self.route("v6", ["/"], hosts: ["[::1]"])])
        #expect(Self.match(table, "/", host: "[::1]:8080") == "v6")
        #expect(Self.match(table, "/", host: "[::1]") == "v6")
        #expect(Self.match(table, "/", host: "[::2]") == nil)
    }

    @Test func wildcardHostsMatchOneOrMoreLabels() {
        let table = RouteTable(routes: [Self.route("w", ["/"], hosts: ["*.example.com"])])
        #expect(Self.match(table, "/", host: "a.example.com") == "w")
        #expect(Self.match(table, "/", host: "a.b.EXAMPLE.com:80") == "w")
        #expect(Self.match(table, "/", host: "example.com") == nil)
        #expect(Self.match(table, "/", host: ".example.com") == nil)
        #expect(Self.match(table, "/", host: "aexample.com") == nil)
        #expect(Self.match(table, "/", host: "a.example.org") == nil)
    }

    @Test func routeWithoutHostsMatchesAnyHostIncludingNone() {
        let table = RouteTable(routes: [Self.route("any", ["/"])])
        #expect(Self.match(table, "/", host: "whatever.test") == "any")
        #expect(Self.match(table, "/", host: "") == "any")
    }

    @Test func priorityBeatsEverythingElse() {
        let table = RouteTable(routes: [
            Self.route("exact-host", ["/a"], hosts: ["x.test"]),
            Self.route("prefix-any-high", ["/*"], priority: 5),
        ])
        #expect(Self.match(table, "/a", host: "x.test") == "prefix-any-high")
    }

    @Test func exactHostBeatsWildcardBeatsAny() {
        let table = RouteTable(routes: [
            Self.route("any", ["/a"]),
            Self.route("wild", ["/a"], hosts: ["*.test"]),
            Self.route("exact", ["/a"], hosts: ["x.test"]),
        ])
        #expect(Self.match(table, "/a", host: "x.test") == "exact")
        #expect(Self.match(table, "/a", host: "y.test") == "wild")
        #expect(Self.match(table, "/a", host: "y.other") == "any")
    }

    @Test func hostKindBeatsPathKind() {
        let table = RouteTable(routes: [
            Self.route("any-exact", ["/a"]), Self.route("host-prefix", ["/*"], hosts: ["x.test"]),
        ])
        #expect(Self.match(table, "/a", host: "x.test") == "host-prefix")
        #expect(Self.match(table, "/a", host: "y.test") == "any-exact")
    }

    @Test func exactPathBeatsParamBeatsLongerPrefixBeatsShorterPrefix() {
        let table = RouteTable(routes: [
            Self.route("short", ["/*"]),
            Self.route("long", ["/api/v1/*"]),
            Self.route("mid", ["/api/*"]),
            Self.route("param", ["/api/v1/:id"]),
            Self.route("exact", ["/api/v1/users"]),
        ])
        #expect(Self.match(table, "/api/v1/users") == "exact")
        #expect(Self.match(table, "/api/v1/42") == "param")
        #expect(Self.match(table, "/api/v1/42/x") == "long")
        #expect(Self.match(table, "/api/v2") == "mid")
        #expect(Self.match(table, "/other") == "short")
    }

    @Test func configOrderBreaksRemainingTies() {
        let table = RouteTable(routes: [Self.route("first", ["/a/:x"]), Self.route("second", ["/a/:y"])])
        #expect(Self.match(table, "/a/1") == "first")
        let reversed = RouteTable(routes: [Self.route("second", ["/a/:y"]), Self.route("first", ["/a/:x"])])
        #expect(Self.match(reversed, "/a/1") == "second")
    }

    @Test func methodMismatchFallsBackToNextBest() {
        let table = RouteTable(routes: [
            Self.route("post-only", ["/a"], hosts: ["x.test"], methods: [.post], priority: 9),
            Self.route("fallback", ["/*"]),
        ])
        #expect(Self.match(table, "/a", host: "x.test", method: .get) == "fallback")
        #expect(Self.match(table, "/a", host: "x.test", method: .post) == "post-only")
    }

    @Test func disabledRoutesAreLeftOutAndIndicesFollowRoutes() {
        let table = RouteTable(routes: [Self.route("off", ["/a"], enabled: false), Self.route("on", ["/b"])])
        #expect(table.routes.map(\.id) == ["on"])
        #expect(Self.match(table, "/a") == nil)
        #expect(Self.match(table, "/b") == "on")
    }

    @Test func multipleUrisAndHostsPerRoute() {
        let table = RouteTable(routes: [Self.route("multi", ["/a", "/b/*"], hosts: ["one.test", "*.two.test"])])
        #expect(Self.match(table, "/a", host: "one.test") == "multi")
        #expect(Self.match(table, "/b/c", host: "x.two.test") == "multi")
        #expect(Self.match(table, "/a", host: "three.test") == nil)
    }

    @Test func emptyTableMatchesNothing() {
        let table = RouteTable(routes: [])
        #expect(Self.match(table, "/", host: "x") == nil)
    }

    @Test func thousandRoutesCompileAndMatch() {
        var routes: [RouteConfig] = []
        for index in 0..<1000 {
            switch index % 4 {
            case 0: routes.append(Self.route("r\(index)", ["/svc\(index)/items"]))
            case 1: routes.append(Self.route("r\(index)", ["/svc\(index)/*"]))
            case 2: routes.append(Self.route("r\(index)", ["/svc\(index)/:id"], hosts: ["h\(index).test"]))
            default:
                routes.append(
                    Self.route("r\(index)", ["/svc\(index)/x"], hosts: ["*.d\(index).test"], methods: [.post])
                )
            }
        }
        let table = RouteTable(routes: routes)
        for index in 0..<1000 {
            switch index % 4 {
            case 0:
                #expect(Self.match(table, "/svc\(index)/items") == "r\(index)")
                #expect(Self.match(table, "/svc\(index)/other") == nil)
            case 1:
                #expect(Self.match(table, "/svc\(index)/a/b") == "r\(index)")
            case 2:
                #expect(Self.match(table, "/svc\(index)/7", host: "H\(index).test:1") == "r\(index)")
                #expect(Self.match(table, "/svc\(index)/7", host: "h\(index + 1).test") == nil)
            default:
                #expect(Self.match(table, "/svc\(index)/x", host: "a.d\(index).test", method: .post) == "r\(index)")
                #expect(Self.match(table, "/svc\(index)/x", host: "a.d\(index).test", method: .get) == nil)
            }
        }
        #expect(Self.match(table, "/svc1000/items") == nil)
    }

    @Test func repeatedMatchingOverBorrowedBuffers() {
        // Exercises the hot-path shape (borrowed byte buffers, no Strings) in a loop. Allocation counts are
        // gated by the allocation benchmark in Benchmarks/, not here: Glibc's mallinfo2 is not importable.
        let table = RouteTable(routes: [
            Self.route("a", ["/api/:v/*"], hosts: ["*.example.com"]), Self.route("b", ["/x"], hosts: ["h.test"]),
        ])
        var host = "www.Example.com:8443"
        var path = "/api/v1/users/42?q=1"
        var other = "/api/v1"
        var hits = 0
        var misses = 0
        host.withUTF8 { hostBytes in
            path.withUTF8 { pathBytes in
                other.withUTF8 { otherBytes in
                    for _ in 0..<100_000 {
                        let host = UnsafeRawBufferPointer(hostBytes)
                        hits +=
                            table.match(method: .get, host: host, path: UnsafeRawBufferPointer(pathBytes)) == 0 ? 1 : 0
                        misses +=
                            table.match(method: .get, host: host, path: UnsafeRawBufferPointer(otherBytes)) < 0 ? 1 : 0
                    }
                }
            }
        }
        #expect(hits == 100_000)
        #expect(misses == 100_000)
    }
}
