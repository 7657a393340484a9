/// One line of OpenSSL's key log (`SSL_CTX_set_keylog_callback`, NSS key log format), where the TLS 1.3
/// traffic secrets and the TLS 1.2 master secret come from: `LABEL <client random hex> <secret hex>`.
package struct KernelTLSKeyLog: Sendable, Equatable {
    /// `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`, `CLIENT_RANDOM` (TLS 1.2 master secret), ...
    package let label: String
    /// The session's client random (32 bytes): which session the line belongs to.
    package let clientRandom: [UInt8]
    /// The secret itself.
    package let secret: [UInt8]

    /// Parses one line; nil when it does not have three fields of a label and two hex strings.
    package init?(line: String) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 3, let random = Self.bytes(hex: fields[1]), let secret = Self.bytes(hex: fields[2])
        else { return nil }
        self.label = String(fields[0])
        self.clientRandom = random
        self.secret = secret
    }

    /// The label of the TLS 1.3 application traffic secret for one direction: a server transmits with the
    /// server's secret and receives with the client's, a client the other way round.
    package static func trafficSecretLabel(role: KernelTLSRole, direction: KernelTLSDirection) -> String {
        direction.usesServerKeys(as: role) ? "SERVER_TRAFFIC_SECRET_0" : "CLIENT_TRAFFIC_SECRET_0"
    }

    /// The label of the TLS 1.2 master secret line.
    package static let masterSecretLabel = "CLIENT_RANDOM"

    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
