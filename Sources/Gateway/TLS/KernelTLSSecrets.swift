/// The secrets of one server session that the kernel needs, captured from OpenSSL's key log during the
/// handshake and kept until the handoff: the TLS 1.3 application traffic secrets, or the TLS 1.2 master
/// secret with the client random.
///
/// Plain data in fixed-size inline storage, no references, so it can live in a per-connection slot of the
/// worker's slab; all-zero bytes are the empty value. ``KernelTLSKeyCapture`` fills it through the SSL's
/// ex_data index 1; ``KernelTLSHandoff`` reads it. The TLS 1.2 server random is not kept: OpenSSL holds it
/// for the session's life and the handoff reads it with `SSL_get_server_random`. Call ``wipe()`` once the
/// session is handed over or closed.
package struct KernelTLSSecrets: Sendable {
    /// Bytes of the largest secret: a SHA-384 hash.
    package static let capacity = 48
    /// Bytes of a hello random.
    package static let randomLength = 32

    /// `CLIENT_TRAFFIC_SECRET_0` (TLS 1.3): the server receives with it.
    package var clientTrafficSecret = InlineArray<48, UInt8>(repeating: 0)
    package var clientTrafficSecretLength: UInt8 = 0
    /// `SERVER_TRAFFIC_SECRET_0` (TLS 1.3): the server transmits with it.
    package var serverTrafficSecret = InlineArray<48, UInt8>(repeating: 0)
    package var serverTrafficSecretLength: UInt8 = 0
    /// The master secret of a `CLIENT_RANDOM` line (TLS 1.2).
    package var masterSecret = InlineArray<48, UInt8>(repeating: 0)
    package var masterSecretLength: UInt8 = 0
    /// The client random every key log line carries: which session the secrets belong to.
    package var clientRandom = InlineArray<32, UInt8>(repeating: 0)
    package var clientRandomLength: UInt8 = 0
    /// TLS 1.3 NewSessionTicket messages the server wrote, one record each under its application keys: the
    /// input of ``KernelTLSSequence`` (counted by ``KernelTLSKeyCapture``'s message callback).
    package var ticketsSent: UInt8 = 0

    package init() {}

    /// Keeps the secret of `line` if it is one the kernel needs; false for any other line, or a secret or
    /// random of an impossible length.
    @discardableResult
    package mutating func record(_ line: KernelTLSKeyLog) -> Bool {
        guard line.clientRandom.count == Self.randomLength, (1...Self.capacity).contains(line.secret.count) else {
            return false
        }
        switch line.label {
        case KernelTLSKeyLog.trafficSecretLabel(role: .server, direction: .receive):
            Self.store(line.secret, in: &clientTrafficSecret, length: &clientTrafficSecretLength)
        case KernelTLSKeyLog.trafficSecretLabel(role: .server, direction: .transmit):
            Self.store(line.secret, in: &serverTrafficSecret, length: &serverTrafficSecretLength)
        case KernelTLSKeyLog.masterSecretLabel:
            Self.store(line.secret, in: &masterSecret, length: &masterSecretLength)
        default:
            return false
        }
        Self.store(line.clientRandom, in: &clientRandom, length: &clientRandomLength)
        return true
    }

    /// The captured `CLIENT_TRAFFIC_SECRET_0` (empty when none was logged).
    package var clientTrafficSecretBytes: [UInt8] { Self.bytes(clientTrafficSecret, clientTrafficSecretLength) }
    /// The captured `SERVER_TRAFFIC_SECRET_0` (empty when none was logged).
    package var serverTrafficSecretBytes: [UInt8] { Self.bytes(serverTrafficSecret, serverTrafficSecretLength) }
    /// The captured TLS 1.2 master secret (empty when none was logged).
    package var masterSecretBytes: [UInt8] { Self.bytes(masterSecret, masterSecretLength) }
    /// The client random of the captured lines (empty when none was logged).
    package var clientRandomBytes: [UInt8] { Self.bytes(clientRandom, clientRandomLength) }

    /// Overwrites every secret with zeros and forgets the lengths: the empty value again.
    package mutating func wipe() {
        for index in 0..<Self.capacity {
            clientTrafficSecret[index] = 0
            serverTrafficSecret[index] = 0
            masterSecret[index] = 0
        }
        for index in 0..<Self.randomLength { clientRandom[index] = 0 }
        clientTrafficSecretLength = 0
        serverTrafficSecretLength = 0
        masterSecretLength = 0
        clientRandomLength = 0
        ticketsSent = 0
    }

    private static func store<let count: Int>(
        _ bytes: [UInt8],
        in storage: inout InlineArray<count, UInt8>,
        length: inout UInt8
    ) {
        for index in 0..<count { storage[index] = index < bytes.count ? bytes[index] : 0 }
        length = UInt8(bytes.count)
    }

    private static func bytes<let count: Int>(_ storage: InlineArray<count, UInt8>, _ length: UInt8) -> [UInt8] {
        (0..<min(Int(length), count)).map { storage[$0] }
    }
}
