import Glibc

/// A redis-server for the `policy: redis` benchmarks, started with the Debian binary before the fixture
/// and shut down after it.
enum RedisForBenchmarks {
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts redis-server on `port` (no persistence) and returns once it answers PING.
    static func start(port: Int) throws {
        stop(port: port)
        let command =
            "redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
            + "--logfile /tmp/gateway-bench-redis.log >/dev/null 2>&1"
        guard system(command) == 0 else {
            throw StartFailure(description: "redis-server did not start (is it installed? scripts/deps)")
        }
        for _ in 0..<100 {
            if system("redis-cli -p \(port) ping 2>/dev/null | grep -q PONG") == 0 { return }
            usleep(50_000)
        }
        throw StartFailure(description: "redis-server on \(port) did not answer PING within 5 s")
    }

    static func stop(port: Int) {
        _ = system("redis-cli -p \(port) shutdown nosave >/dev/null 2>&1")
    }
}
