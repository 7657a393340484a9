import Testing

@testable import Gateway

@Suite("kTLS sequence numbers: what OpenSSL 3.0 has sealed and opened when the server's handshake returns")
struct KernelTLSSequenceTests {
    @Test(arguments: [
        // TLS 1.3: the tickets are the only records under the server's application keys; none read.
        (KernelTLSProtocol.tls13, 1, UInt64(0), UInt64(0), KernelTLSSequence(transmit: 1, receive: 0)),
        (.tls13, 0, 0, 0, KernelTLSSequence(transmit: 0, receive: 0)),
        (.tls13, 2, 3, 1, KernelTLSSequence(transmit: 5, receive: 1)),
        // TLS 1.2: Finished each way; the ticket precedes the key change and does not count.
        (.tls12, 0, 0, 0, KernelTLSSequence(transmit: 1, receive: 1)),
        (.tls12, 1, 0, 0, KernelTLSSequence(transmit: 1, receive: 1)),
        (.tls12, 0, 2, 4, KernelTLSSequence(transmit: 3, receive: 5)),
    ])
    func numbers(
        version: KernelTLSProtocol,
        tickets: Int,
        written: UInt64,
        read: UInt64,
        expected: KernelTLSSequence
    ) {
        let sequence = KernelTLSSequence(
            version: version,
            ticketsSent: tickets,
            recordsWritten: written,
            recordsRead: read
        )
        #expect(sequence == expected)
    }
}
