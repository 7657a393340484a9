import Testing

@testable import Gateway

@Suite struct ResilienceConfigTests {
    static func upstream(_ extra: String, type: String = "roundrobin") -> String {
        """
        upstreams:
          - id: web
            type: \(type)
            nodes: {"127.0.0.1:9001": 1, "127.0.0.1:9002": 1, "127.0.0.1:9003": 1}
        \(extra.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    static func parse(_ yaml: String) throws -> UpstreamConfig {
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "test", resolveHostnames: false)
        return try #require(config.upstreams.first)
    }

    static func issues(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, sourceName: "test", resolveHostnames: false)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func defaultsAreAPISIXAndEnvoyDefaults() throws {
        let upstream = try Self.parse(Self.upstream(""))
        #expect(upstream.checks == nil)
        #expect(upstream.circuitBreaker == CircuitBreakerConfig())
        #expect(upstream.circuitBreaker.consecutiveFailures == 5 && upstream.circuitBreaker.failureRatio == 0.5)
        #expect(upstream.circuitBreaker.minRequests == 20 && upstream.circuitBreaker.window == .seconds(10))
        #expect(upstream.circuitBreaker.baseEjectionTime == .seconds(5))
        #expect(upstream.circuitBreaker.maxEjectionTime == .seconds(300))
        #expect(upstream.circuitBreaker.maxEjectionPercent == 50 && upstream.circuitBreaker.halfOpenRequests == 1)
        #expect(upstream.circuitBreaker.jitter == 0.1 && upstream.circuitBreaker.enabled)
        #expect(upstream.retries == nil && upstream.effectiveRetries == 2)
        #expect(upstream.retryPolicy.retryOn == [.connectFailure, .timeout])
        #expect(upstream.retryPolicy.budget.percent == 20 && upstream.retryPolicy.budget.minRetries == 3)
        #expect(upstream.retryPolicy.backoff.base == .milliseconds(25))
        #expect(upstream.retryPolicy.backoff.max == .milliseconds(250))
        #expect(upstream.hashOn == .vars && upstream.hashKey == "remote_addr")

        let empty = try Self.parse(Self.upstream("checks: {active: {}, passive: {}}"))
        let active = try #require(empty.checks?.active)
        #expect(active.type == .http && active.httpPath == "/" && active.host == nil && active.port == nil)
        #expect(active.timeout == .seconds(1) && active.concurrency == nil)
        #expect(active.healthy.interval == .seconds(1) && active.healthy.successes == 2)
        #expect(active.healthy.httpStatuses == [200, 302])
        #expect(active.unhealthy.interval == .seconds(1) && active.unhealthy.httpFailures == 5)
        #expect(active.unhealthy.tcpFailures == 2 && active.unhealthy.timeouts == 3)
        #expect(active.unhealthy.httpStatuses == [429, 404, 500, 501, 502, 503, 504, 505])
        let passive = try #require(empty.checks?.passive)
        #expect(passive.healthy.httpStatuses == Array(200...299) && passive.healthy.successes == 5)
        #expect(passive.unhealthy.httpStatuses == [429, 500, 503] && passive.unhealthy.httpFailures == 5)
        #expect(passive.unhealthy.tcpFailures == 2 && passive.unhealthy.timeouts == 7)
    }

    @Test func everyKeyParses() throws {
        let yaml = Self.upstream(
            """
            hash_on: header
            key: X-User
            retries: 0
            retry_timeout: 0
            retry_on: [connect_failure, timeout, 502, "503", 504]
            retry_budget: {percent: 10, min_retries: 1}
            retry_backoff: {base: 0.01, max: "500ms"}
            checks:
              active:
                type: tcp
                http_path: /healthz?full=1
                host: health.example.com
                port: 8081
                timeout: 0.5
                concurrency: 4
                healthy: {interval: 2, successes: 3, http_statuses: [200, 204]}
                unhealthy: {interval: 0.25, http_failures: 4, tcp_failures: 1, timeouts: 2, http_statuses: [500, 503]}
              passive:
                type: http
                healthy: {http_statuses: [200, 201], successes: 3}
                unhealthy: {http_statuses: [502, 504], http_failures: 2, tcp_failures: 3, timeouts: 4}
            circuit_breaker:
              enabled: false
              consecutive_failures: 7
              failure_ratio: 0.25
              min_requests: 40
              window: 30s
              base_ejection_time: 2
              max_ejection_time: 60
              max_ejection_percent: 100
              half_open_requests: 3
              jitter: 0
            """,
            type: "chash"
        )
        let upstream = try Self.parse(yaml)
        #expect(upstream.type == .chash && upstream.hashOn == .header && upstream.hashKey == "x-user")
        #expect(upstream.retries == 0 && upstream.effectiveRetries == 0 && upstream.retryTimeout == .zero)
        #expect(upstream.retryPolicy.retryOn == [.connectFailure, .timeout, .status502, .status503, .status504])
        #expect(upstream.retryPolicy.budget.percent == 10 && upstream.retryPolicy.budget.minRetries == 1)
        #expect(upstream.retryPolicy.backoff.base == .milliseconds(10))
        #expect(upstream.retryPolicy.backoff.max == .milliseconds(500))
        var active = ActiveHealthCheck()
        active.type = .tcp
        active.httpPath = "/healthz?full=1"
        active.host = "health.example.com"
        active.port = 8081
        active.timeout = .milliseconds(500)
        active.concurrency = 4
        active.healthy.interval = .seconds(2)
        active.healthy.successes = 3
        active.healthy.httpStatuses = [200, 204]
        active.unhealthy.interval = .milliseconds(250)
        active.unhealthy.httpFailures = 4
        active.unhealthy.tcpFailures = 1
        active.unhealthy.timeouts = 2
        active.unhealthy.httpStatuses = [500, 503]
        var passive = PassiveHealthCheck()
        passive.healthy.httpStatuses = [200, 201]
        passive.healthy.successes = 3
        passive.unhealthy.httpStatuses = [502, 504]
        passive.unhealthy.httpFailures = 2
        passive.unhealthy.tcpFailures = 3
        passive.unhealthy.timeouts = 4
        #expect(upstream.checks == HealthChecksConfig(active: active, passive: passive))
        var breaker = CircuitBreakerConfig()
        breaker.enabled = false
        breaker.consecutiveFailures = 7
        breaker.failureRatio = 0.25
        breaker.minRequests = 40
        breaker.window = .seconds(30)
        breaker.baseEjectionTime = .seconds(2)
        breaker.maxEjectionTime = .seconds(60)
        breaker.maxEjectionPercent = 100
        breaker.halfOpenRequests = 3
        breaker.jitter = 0
        #expect(upstream.circuitBreaker == breaker)
    }

    @Test(arguments: ["least_conn", "ewma", "roundrobin"]) func balancersParse(_ name: String) throws {
        #expect(try Self.parse(Self.upstream("", type: name)).type.rawValue == name)
    }

    @Test func chashVariants() throws {
        let cookie = try Self.parse(Self.upstream("hash_on: cookie\nkey: session_ID", type: "chash"))
        #expect(cookie.hashOn == .cookie && cookie.hashKey == "session_ID")
        let vars = try Self.parse(Self.upstream("hash_on: vars\nkey: remote_addr", type: "chash"))
        #expect(vars.hashOn == .vars && vars.hashKey == "remote_addr")
        let implicit = try Self.parse(Self.upstream("", type: "chash"))
        #expect(implicit.hashOn == .vars && implicit.hashKey == "remote_addr")
    }

    struct Bad: CustomTestStringConvertible, Sendable {
        var yaml: String
        var type = "roundrobin"
        var path: String
        var reason: String
        var testDescription: String { path }
    }

    static let bad: [Bad] = [
        Bad(yaml: "checks: {active: {type: grpc}}", path: "upstreams[0].checks.active.type", reason: "\"tcp\""),
        Bad(yaml: "checks: {active: {http_path: health}}", path: "upstreams[0].checks.active.http_path", reason: "/"),
        Bad(yaml: "checks: {active: {port: 0}}", path: "upstreams[0].checks.active.port", reason: "1 to 65535"),
        Bad(
            yaml: "checks: {active: {timeout: 0}}",
            path: "upstreams[0].checks.active.timeout",
            reason: "more than zero"
        ),
        Bad(
            yaml: "checks: {active: {healthy: {successes: 0}}}",
            path: "upstreams[0].checks.active.healthy.successes",
            reason: "from 1 to 254"
        ),
        Bad(
            yaml: "checks: {active: {healthy: {http_statuses: [200, 99]}}}",
            path: "upstreams[0].checks.active.healthy.http_statuses[1]",
            reason: "from 200 to 599"
        ),
        Bad(
            yaml: "checks: {active: {unhealthy: {timeout: 3}}}",
            path: "upstreams[0].checks.active.unhealthy.timeout",
            reason: "did you mean \"timeouts\""
        ),
        Bad(
            yaml: "checks: {passive: {unhealthy: {tcp_failures: 300}}}",
            path: "upstreams[0].checks.passive.unhealthy.tcp_failures",
            reason: "from 1 to 254"
        ),
        Bad(
            yaml: "checks: {passive: {healthy: {http_statuses: []}}}",
            path: "upstreams[0].checks.passive.healthy.http_statuses",
            reason: "at least one"
        ),
        Bad(
            yaml: "checks: {passive: {unhealthy: {http_statuses: [200]}}}",
            path: "upstreams[0].checks.passive.unhealthy.http_statuses",
            reason: "also in healthy"
        ),
        Bad(yaml: "checks: {}", path: "upstreams[0].checks", reason: "needs `active`"),
        Bad(yaml: "checks: {activ: {}}", path: "upstreams[0].checks.activ", reason: "did you mean \"active\""),
        Bad(
            yaml: "circuit_breaker: {failure_ratio: 1.5}",
            path: "upstreams[0].circuit_breaker.failure_ratio",
            reason: "at most 1"
        ),
        Bad(
            yaml: "circuit_breaker: {max_ejection_percent: 101}",
            path: "upstreams[0].circuit_breaker.max_ejection_percent",
            reason: "from 0 to 100"
        ),
        Bad(
            yaml: "circuit_breaker: {base_ejection_time: 10, max_ejection_time: 5}",
            path: "upstreams[0].circuit_breaker.max_ejection_time",
            reason: "base_ejection_time"
        ),
        Bad(
            yaml: "circuit_breaker: {enabled: yes please}",
            path: "upstreams[0].circuit_breaker.enabled",
            reason: "true or false"
        ),
        Bad(
            yaml: "circuit_breaker: {half_open_requests: 0}",
            path: "upstreams[0].circuit_breaker.half_open_requests",
            reason: "from 1 to 1000"
        ),
        Bad(
            yaml: "circuit_breaker: {jitter: -0.1}",
            path: "upstreams[0].circuit_breaker.jitter",
            reason: "from 0 to 1"
        ),
        Bad(yaml: "retries: -1", path: "upstreams[0].retries", reason: "from 0 to 100"),
        Bad(yaml: "retry_on: [connect_failure, 500]", path: "upstreams[0].retry_on[1]", reason: "\"502\""),
        Bad(yaml: "retry_budget: {percent: 120}", path: "upstreams[0].retry_budget.percent", reason: "from 0 to 100"),
        Bad(yaml: "retry_budget: {ratio: 1}", path: "upstreams[0].retry_budget.ratio", reason: "unknown key"),
        Bad(
            yaml: "retry_backoff: {base: 1, max: 0.5}",
            path: "upstreams[0].retry_backoff.max",
            reason: "not be less than"
        ),
        Bad(yaml: "hash_on: header\nkey: x", path: "upstreams[0].hash_on", reason: "only used with type: chash"),
        Bad(yaml: "hash_on: uri", type: "chash", path: "upstreams[0].hash_on", reason: "\"cookie\""),
        Bad(yaml: "hash_on: vars\nkey: uri", type: "chash", path: "upstreams[0].key", reason: "remote_addr"),
        Bad(
            yaml: "hash_on: header\nkey: \"X User\"",
            type: "chash",
            path: "upstreams[0].key",
            reason: "not a valid header"
        ),
        Bad(yaml: "hash_on: cookie", type: "chash", path: "upstreams[0].key", reason: "required"),
        Bad(yaml: "", type: "random", path: "upstreams[0].type", reason: "\"least_conn\""),
        Bad(yaml: "panic_threshold: 101", path: "upstreams[0].panic_threshold", reason: "from 0 to 100"),
        Bad(yaml: "panic_threshold: -5", path: "upstreams[0].panic_threshold", reason: "from 0 to 100"),
        Bad(yaml: "panic_threshold: half", path: "upstreams[0].panic_threshold", reason: "integer"),
    ]

    @Test func panicThresholdDefaultsToHalfAndZeroTurnsItOff() throws {
        #expect(try Self.parse(Self.upstream("")).panicThreshold == 50)
        #expect(try Self.parse(Self.upstream("panic_threshold: 0")).panicThreshold == 0)
        #expect(try Self.parse(Self.upstream("panic_threshold: 100")).panicThreshold == 100)
    }

    @Test(arguments: bad) func badValueNamesItsPath(_ bad: Bad) {
        let issues = Self.issues(Self.upstream(bad.yaml, type: bad.type))
        let issue = issues.first { $0.path == bad.path }
        #expect(issue != nil, "issues: \(issues)")
        #expect(issue?.reason.contains(bad.reason) == true, "reason: \(issue?.reason ?? "-")")
    }

    @Test func backoffIsJitteredExponentialAndCapped() {
        let backoff = RetryPolicy.Backoff()
        #expect(backoff.delay(retry: 1, unit: 1) == .milliseconds(25))
        #expect(backoff.delay(retry: 2, unit: 1) == .milliseconds(50))
        #expect(backoff.delay(retry: 3, unit: 0.5) == .milliseconds(50))
        #expect(backoff.delay(retry: 10, unit: 1) == .milliseconds(250))
        #expect(backoff.delay(retry: 1, unit: 0) == .zero)
    }

    @Test func budgetAllowsAFloorThenAShare() {
        let budget = RetryPolicy.Budget()
        #expect(budget.allows(retrying: 2, active: 0))
        #expect(!budget.allows(retrying: 3, active: 10))
        #expect(budget.allows(retrying: 19, active: 100))
        #expect(!budget.allows(retrying: 20, active: 100))
    }
}
