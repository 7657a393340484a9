/// A parsed route host: an exact name, or `*.suffix` matching one or more labels before the suffix.
package enum HostPattern: Sendable, Hashable {
    /// Matches this lower-case host exactly.
    case exact(String)
    /// Matches hosts ending in this lower-case suffix (which starts with ".") with at least one byte before it.
    case wildcard(suffix: String)

    /// Parses a route `host`: "api.example.com", "*.example.com", "10.0.0.1" or "[::1]"; case is ignored.
    package init(parsing text: String) throws(PatternError) {
        var name = text.lowercased()
        if name.hasSuffix(".") && name.count > 1 {
            name.removeLast()
        }
        if name == "*" {
            throw PatternError("\"*\" alone is not a host pattern; leave out `hosts` to match any host")
        }
        if name.hasPrefix("*.") {
            let suffix = String(name.dropFirst(2))
            guard HostPort.isHostname(suffix) else {
                throw PatternError("\"\(text)\" is not a wildcard host; write \"*.\" followed by a domain name")
            }
            self = .wildcard(suffix: "." + suffix)
            return
        }
        if name.contains("*") {
            throw PatternError(
                "\"*\" is only allowed as the whole first label, e.g. \"*.example.com\" (in \"\(text)\")"
            )
        }
        if name.hasPrefix("[") && name.hasSuffix("]") && IPAddress.isIPv6(String(name.dropFirst().dropLast())) {
            self = .exact(name)
            return
        }
        if name.contains(":") {
            throw PatternError(
                "host \"\(text)\" must not carry a port; the Host header's port is ignored when matching"
            )
        }
        guard HostPort.isHostname(name) || IPAddress.isIPv4(name) else {
            throw PatternError("\"\(text)\" is not a host name, an IP literal or a \"*.\" wildcard")
        }
        self = .exact(name)
    }
}
