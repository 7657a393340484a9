import Foundation

/// `security-headers` (the gateway's own plugin, not APISIX's): adds the usual browser-hardening headers
/// to every response, in `header_filter`.
///
/// Each key names one header. A string is the value to send (replacing the upstream's); `false` or `""`
/// means the header is not sent (an upstream's is removed too); an absent key keeps the default:
///
/// | key                         | header                      | default                                  |
/// |-----------------------------|-----------------------------|------------------------------------------|
/// | `x_content_type_options`    | `X-Content-Type-Options`    | `nosniff`                                |
/// | `x_frame_options`           | `X-Frame-Options`           | `DENY`                                   |
/// | `referrer_policy`           | `Referrer-Policy`           | `no-referrer`                            |
/// | `strict_transport_security` | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains`    |
/// | `content_security_policy`   | `Content-Security-Policy`   | not sent                                 |
/// | `permissions_policy`        | `Permissions-Policy`        | not sent                                 |
///
/// `Strict-Transport-Security` is only sent on TLS connections (browsers ignore it over plain HTTP).
/// Priority 898: just after `response-rewrite` (899), so the latter's changes to these headers lose.
package final class SecurityHeadersPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "security-headers",
        priority: 898,
        phases: [.headerFilter],
        keys: headers.map(\.key),
        compile: { settings in SecurityHeadersPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The keys, their headers and defaults (nil: not sent unless configured).
    static let headers: [(key: String, name: String, value: String?)] = [
        ("x_content_type_options", "X-Content-Type-Options", "nosniff"),
        ("x_frame_options", "X-Frame-Options", "DENY"),
        ("referrer_policy", "Referrer-Policy", "no-referrer"),
        ("strict_transport_security", "Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("content_security_policy", "Content-Security-Policy", nil),
        ("permissions_policy", "Permissions-Policy", nil),
    ]

    /// Headers sent on every response; `value` nil removes the header.
    private let always: [(name: PluginText, value: PluginText?)]
    /// `Strict-Transport-Security`'s value, sent on TLS connections only.
    private let transportSecurity: PluginText?
    /// Whether `Strict-Transport-Security` was configured `false`: removed from every response.
    private let transportSecurityRemoved: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        var always: [(name: PluginText, value: PluginText?)] = []
        var transportSecurity: PluginText?
        var removed = false
        for (key, name, fallback) in Self.headers {
            var value = fallback
            var configured = false
            if settings.holdsBool(key) {
                if settings.bool(key) == true {
                    settings.report(key, "expected the header's value, or false to not send it")
                }
                value = nil
                configured = true
            } else if let text = settings.string(key) {
                if text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                    settings.report(key, "must not contain control characters")
                } else if !text.isEmpty, let problem = Self.problem(key, text) {
                    settings.report(key, problem)
                }
                value = text.isEmpty ? nil : text
                configured = true
            }
            if key == "strict_transport_security" {
                transportSecurity = value.map { PluginText($0) }
                removed = value == nil
                continue
            }
            if let value {
                always.append((PluginText(name), PluginText(value)))
            } else if configured {
                always.append((PluginText(name), nil))
            }
        }
        self.always = always
        self.transportSecurity = transportSecurity
        transportSecurityRemoved = removed
        if settings.issueCount > start { return nil }
    }

    /// Referrer-Policy's tokens (W3C Referrer Policy).
    static let referrerPolicies: Set<String> = [
        "no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin",
        "strict-origin", "strict-origin-when-cross-origin", "unsafe-url",
    ]

    /// What is wrong with `value` for the header of `key`, or nil: the values browsers act on, so a typo
    /// is refused instead of silently sending a header every browser ignores.
    static func problem(_ key: String, _ value: String) -> String? {
        switch key {
        case "x_content_type_options":
            return value.lowercased() == "nosniff" ? nil : "must be \"nosniff\" (or false), not \"\(value)\""
        case "x_frame_options":
            return ["deny", "sameorigin"].contains(value.lowercased())
                ? nil : "must be \"DENY\" or \"SAMEORIGIN\" (or false), not \"\(value)\""
        case "referrer_policy":
            // A comma-separated list is allowed: browsers use the last token they know.
            let tokens = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            return tokens.allSatisfy(referrerPolicies.contains)
                ? nil
                : "must be one or more of \(referrerPolicies.sorted().joined(separator: ", ")) (or false), "
                    + "not \"\(value)\""
        case "strict_transport_security":
            var maxAge = false
            for directive in value.split(separator: ";") {
                let text = directive.trimmingCharacters(in: .whitespaces).lowercased()
                if text.hasPrefix("max-age=") {
                    let seconds = text.dropFirst("max-age=".count)
                    maxAge = !seconds.isEmpty && seconds.allSatisfy(\.isASCII) && seconds.allSatisfy(\.isNumber)
                    if !maxAge { break }
                } else if text != "includesubdomains" && text != "preload" {
                    maxAge = false
                    break
                }
            }
            return maxAge
                ? nil
                : "must be \"max-age=<seconds>\" with optional \"; includeSubDomains\" and \"; preload\" (or false), "
                    + "not \"\(value)\""
        default:
            // Content-Security-Policy and Permissions-Policy: free-form policies, only kept to one line.
            return nil
        }
    }

    package func headerFilter(_ request: PluginRequest) {
        // Index loops: a for-in over the array's iterator allocates in unoptimised builds.
        var index = 0
        while index < always.count {
            let header = always[index]
            index &+= 1
            if let value = header.value {
                request.record(.responseSet, name: header.name.bytes, value: value.bytes)
            } else {
                request.record(.responseRemove, name: header.name.bytes, value: UnsafeRawBufferPointer(""))
            }
        }
        if let transportSecurity, request.isTLS {
            request.record(
                .responseSet,
                name: UnsafeRawBufferPointer("Strict-Transport-Security"),
                value: transportSecurity.bytes
            )
        } else if transportSecurityRemoved {
            request.record(
                .responseRemove,
                name: UnsafeRawBufferPointer("Strict-Transport-Security"),
                value: UnsafeRawBufferPointer("")
            )
        }
    }
}
