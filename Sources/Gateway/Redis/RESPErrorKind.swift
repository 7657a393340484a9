/// What kind of Redis error reply came back, as far as the gateway acts on it.
package enum RESPErrorKind: Equatable, Sendable {
    /// `-NOSCRIPT`: the server does not have the script `EVALSHA` named (a restarted or flushed Redis); the
    /// caller sends it again with `EVAL` or `SCRIPT LOAD`.
    case noScript
    /// `-NOAUTH`, `-WRONGPASS` or `-ERR invalid password`: the connection is not authenticated, or the
    /// password is wrong. Retrying will not help until the configuration changes.
    case authentication
    /// Any other error (a script error, a wrong type, an out-of-memory Redis, ...), and the signal for a
    /// malformed stream from ``RESPParser/parse(_:)`` (with a negative `consumed`).
    case other
}
