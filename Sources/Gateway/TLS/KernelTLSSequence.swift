/// The record sequence numbers the kernel continues from when it takes over an established server session:
/// the number of records each side already protected with the current keys.
///
/// What OpenSSL 3.0 has written and read under the application keys when `SSL_do_handshake` returns 1 on
/// the server (over memory BIOs, without read-ahead):
///
/// - TLS 1.3, transmit: the server switches to its application keys right after writing its Finished
///   (sequence 0 from there). After reading the client's Finished, within that same `SSL_do_handshake`
///   call, it writes its NewSessionTicket messages, one record each: `num_tickets` on a full handshake (the
///   gateway sets 1), none with `num_tickets` 0, and on a resumption one only when the ticket is renewed
///   (with the gateway's ticket keys: a ticket sealed with last hour's key), else none. Since that depends
///   on the ticket, the transmit sequence is the number counted (``KernelTLSSecrets/ticketsSent``), never
///   the configured one.
/// - TLS 1.3, receive: the client's application keys start after its Finished; OpenSSL reads one record
///   at a time and stops at the Finished, so it has opened none: 0 while no application record was read.
/// - TLS 1.2: each direction's keys start at ChangeCipherSpec and first protect Finished (sequence 0); the
///   server's NewSessionTicket goes before its ChangeCipherSpec, under the old state. So 1 each way, on full
///   and resumed handshakes.
///
/// Records the worker had OpenSSL seal or open after that (application data, alerts) add one each.
package struct KernelTLSSequence: Sendable, Equatable {
    /// `rec_seq` of `TLS_TX`: records the server already sent under its application keys.
    package var transmit: UInt64
    /// `rec_seq` of `TLS_RX`: records the server already opened under the client's application keys.
    package var receive: UInt64

    package init(transmit: UInt64, receive: UInt64) {
        self.transmit = transmit
        self.receive = receive
    }

    /// The sequence numbers of a server session, from what the worker observed.
    ///
    /// - Parameters:
    ///   - version: the negotiated protocol.
    ///   - ticketsSent: TLS 1.3 NewSessionTicket messages the server wrote (``KernelTLSSecrets/ticketsSent``);
    ///     ignored for TLS 1.2, whose ticket precedes the key change.
    ///   - recordsWritten: records OpenSSL sealed for the worker after the handshake (`SSL_write`, or
    ///     `SSL_shutdown`'s close_notify); 0 when the handoff follows the handshake directly. OpenSSL seals
    ///     at most 16384 plaintext bytes per record.
    ///   - recordsRead: records OpenSSL opened after the handshake (`SSL_read` of what the client sent with
    ///     or after its Finished); 0 when the handoff follows the handshake directly.
    package init(version: KernelTLSProtocol, ticketsSent: Int, recordsWritten: UInt64 = 0, recordsRead: UInt64 = 0) {
        let handshakeRecords: UInt64 =
            switch version {
            case .tls13: UInt64(max(0, ticketsSent))
            case .tls12: 1
            }
        let finished: UInt64 = version == .tls12 ? 1 : 0
        self.init(transmit: handshakeRecords + recordsWritten, receive: finished + recordsRead)
    }
}
