/// A small index for a string registered up front with ``AccessLogger/register(_:)``
/// (route ids, upstream node addresses, error kinds, consumer usernames, plugin names, plugin-field
/// keys and values, TLS protocol and cipher names, client certificate subjects), so records carry two
/// bytes instead of text.
public struct AccessLogSymbol: Sendable, Hashable {
    /// The index into the logger's table; 0 means no value.
    public var rawValue: UInt16

    /// A symbol from its index.
    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// No value: the field is empty (route, tls_protocol, tls_cipher) or left out (upstream, error,
    /// consumer, rejected_by, tls_client_subject, and the plugin field when either its name or its value
    /// is unset).
    public static let none = AccessLogSymbol(rawValue: 0)
}
