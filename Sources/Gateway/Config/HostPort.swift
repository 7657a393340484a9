#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits and checks "host:port" strings for listen addresses and upstream nodes.
enum HostPort {
    /// Splits "host:port" or "[v6]:port"; a missing port takes `defaultPort` or is an error.
    static func split(_ text: String, defaultPort: UInt16?) throws(AddressError) -> (host: String, port: UInt16) {
        guard !text.isEmpty else { throw AddressError("address is empty") }
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw AddressError("IPv6 address \"\(text)\" lacks its closing \"]\"")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw AddressError("expected \":port\" after \"]\" in \"\(text)\"")
                }
                portText = rest.dropFirst()
            }
            guard IPAddress.isIPv6(String(host)) else {
                throw AddressError("\"\(host)\" is not an IPv6 address")
            }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons > 1 {
                throw AddressError("IPv6 addresses need brackets, e.g. \"[::1]:8080\", not \"\(text)\"")
            }
            if let colon = text.firstIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = Substring(text)
            }
            guard !host.isEmpty else { throw AddressError("host is empty in \"\(text)\"") }
        }
        let port: UInt16
        if let portText {
            port = try Self.port(String(portText))
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw AddressError("\"\(text)\" has no port; write host:port, e.g. 127.0.0.1:8080")
        }
        return (String(host), port)
    }

    /// Parses a decimal port 0...65535.
    static func port(_ text: String) throws(AddressError) -> UInt16 {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), text.count <= 5, let value = Int(text),
            value <= 65535
        else {
            throw AddressError("port \"\(text)\" is not a number from 0 to 65535")
        }
        return UInt16(value)
    }

    /// "host:port" with IPv6 hosts in brackets.
    static func format(host: String, port: UInt16) -> String {
        IPAddress.isIPv6(host) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Whether `name` is a DNS host name: dot-separated labels of letters, digits, '-' and '_'.
    static func isHostname(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"),
                label.last != UInt8(ascii: "-")
            else { return false }
            for byte in label {
                let ok =
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                guard ok else { return false }
            }
        }
        return true
    }
}

/// IP literal checks through inet_pton, so the rules match what the engine's socket calls accept.
enum IPAddress {
    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool {
        self >= "0" && self <= "9"
    }
}
