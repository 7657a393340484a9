import CSSL
import Glibc
import Testing

@testable import Gateway

@Suite("kTLS handoff: keys captured from real OpenSSL sessions open the records OpenSSL seals next")
struct KernelTLSHandoffTests {
    typealias Opener = KernelTLSRecordOpener

    /// The proof the kernel would get the right keys and sequence numbers: after a real handshake between an
    /// OpenSSL client and the gateway's server context, the keys derived from the key log open the next record
    /// the server seals (as the kernel's TX would seal it) and the next one the client seals (as its RX would
    /// open it), at the sequence numbers ``KernelTLSSequence`` gives; one number off, they do not.
    @Test(arguments: KernelTLSSuite.all)
    func derivedKeysOpenTheNextRecordInEachDirection(suite: KernelTLSSuite) async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: suite.version, suite: suite.name)
        defer { SSL_CTX_free(clientContext) }
        let pair = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try pair.handshake()
        #expect(String(cString: SSL_get_version(pair.server)) == (suite.version == .tls13 ? "TLSv1.3" : "TLSv1.2"))

        // The key log filled the slot with this session's secrets, and the ticket the server sent was counted.
        let secrets = pair.secrets.pointee
        let hashLength = suite.cipher.usesSHA384 ? 48 : 32
        #expect(secrets.clientRandomBytes == Self.clientRandom(pair.server))
        switch suite.version {
        case .tls13:
            #expect(secrets.serverTrafficSecretBytes.count == hashLength)
            #expect(secrets.clientTrafficSecretBytes.count == hashLength)
            #expect(secrets.serverTrafficSecretBytes != secrets.clientTrafficSecretBytes)
            #expect(secrets.masterSecretBytes.isEmpty)
            #expect(secrets.ticketsSent == 1, "the gateway's contexts send one ticket per full handshake")
        case .tls12:
            #expect(secrets.masterSecretBytes.count == 48)
            #expect(secrets.serverTrafficSecretBytes.isEmpty && secrets.clientTrafficSecretBytes.isEmpty)
            #expect(secrets.ticketsSent == 0, "a TLS 1.2 ticket goes before the key change: not counted")
        }

        let sequence = KernelTLSSequence(version: suite.version, ticketsSent: Int(secrets.ticketsSent))
        #expect(sequence == (suite.version == .tls13 ? .init(transmit: 1, receive: 0) : .init(transmit: 1, receive: 1)))
        var keys = try KernelTLSHandoff.keys(
            ssl: pair.server,
            secrets: pair.secrets,
            transmitSequence: sequence.transmit,
            receiveSequence: sequence.receive
        )
        defer { keys.wipe() }
        #expect(keys.version == suite.version)
        #expect(keys.cipher == suite.cipher)
        #expect(keys.transmit.sequence == sequence.transmit && keys.receive.sequence == sequence.receive)

        // Server to client: the first record after the handshake is record number `transmit`.
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        let sealed = try Opener.records(pair.serverWrite(response))
        try #require(sealed.count == 1)
        let opened = try Opener.open(sealed[0], with: keys.transmit)
        #expect(opened.contentType == 23)
        #expect(opened.plaintext == Array(response.utf8))
        #expect(throws: (any Error).self, "one record number off must not open") {
            try Opener.open(sealed[0], with: keys.transmit, sequence: sequence.transmit + 1)
        }
        if sequence.transmit > 0 {
            #expect(throws: (any Error).self) {
                try Opener.open(sealed[0], with: keys.transmit, sequence: sequence.transmit - 1)
            }
        }
        // The real client agrees the record is the next one.
        pair.deliverToClient(Array(sealed.joined()))
        #expect(try pair.clientRead() == Array(response.utf8))
        // And the count goes on: the record after it is `transmit + 1`.
        let next = try Opener.records(pair.serverWrite("more"))
        #expect(
            try Opener.open(next[0], with: keys.transmit, sequence: sequence.transmit + 1).plaintext
                == Array("more".utf8)
        )

        // Client to server: the client's first application record is record number `receive`.
        let request = "GET / HTTP/1.1\r\nhost: ktls.test\r\n\r\n"
        let fromClient = try Opener.records(pair.clientWrite(request))
        try #require(fromClient.count == 1)
        let received = try Opener.open(fromClient[0], with: keys.receive)
        #expect(received.contentType == 23)
        #expect(received.plaintext == Array(request.utf8))
        #expect(throws: (any Error).self) {
            try Opener.open(fromClient[0], with: keys.receive, sequence: sequence.receive + 1)
        }
        if suite.version == .tls12, suite.cipher != .chacha20Poly1305 {
            // OpenSSL 3.0 starts its explicit GCM nonces at a random value, not at the sequence number: the
            // kernel's own nonces (counting from rec_seq) can only meet them with odds of about 2^-64.
            #expect(opened.explicitNonce?.count == 8)
        }
    }

    /// The ticket count is what the server actually sent: with `num_tickets` 0, 1 (the gateway's) and 2 (OpenSSL's
    /// default), the count is right when the record it predicts opens.
    @Test(arguments: [0, 1, 2])
    func transmitSequenceCountsTheTicketsSent(tickets: Int) async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        #expect(SSL_CTX_set_num_tickets(serverContext, tickets) == 1)
        let suite = KernelTLSSuite.tls13
        let clientContext = try KernelTLSSessionPair.clientContext(version: suite.version, suite: suite.name)
        defer { SSL_CTX_free(clientContext) }
        let pair = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try pair.handshake()
        #expect(Int(pair.secrets.pointee.ticketsSent) == tickets)

        let sequence = KernelTLSSequence(version: .tls13, ticketsSent: Int(pair.secrets.pointee.ticketsSent))
        #expect(sequence.transmit == UInt64(tickets))
        let keys = try KernelTLSHandoff.keys(
            ssl: pair.server,
            secrets: pair.secrets,
            transmitSequence: sequence.transmit,
            receiveSequence: sequence.receive
        )
        let sealed = try Opener.records(pair.serverWrite("after \(tickets) tickets"))
        #expect(try Opener.open(sealed[0], with: keys.transmit).plaintext == Array("after \(tickets) tickets".utf8))
    }

    /// A resumed session (TLS 1.3 ticket, TLS 1.2 ticket) logs its secrets too, and its sequence numbers follow
    /// the same rules. OpenSSL 3.0 renews a TLS 1.3 ticket on resumption only when the ticket callback asks (a
    /// key of the previous hour), so here it usually sends none: the count, not the configuration, is right.
    @Test(arguments: [KernelTLSSuite.tls13, KernelTLSSuite.tls12])
    func resumedSessionsHandOverToo(suite: KernelTLSSuite) async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: suite.version, suite: suite.name)
        defer { SSL_CTX_free(clientContext) }
        let first = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try first.handshake()
        _ = try first.clientRead()  // TLS 1.3: takes the ticket in
        let session = try #require(SSL_get1_session(first.client))
        defer { SSL_SESSION_free(session) }

        let pair = try KernelTLSSessionPair(
            serverContext: serverContext,
            clientContext: clientContext,
            session: session
        )
        try pair.handshake()
        try #require(SSL_session_reused(pair.server) == 1)
        let secrets = pair.secrets.pointee
        #expect(secrets.clientRandomBytes == Self.clientRandom(pair.server))
        #expect(secrets.clientRandomBytes != first.secrets.pointee.clientRandomBytes)
        if suite.version == .tls13 {
            #expect(secrets.ticketsSent <= 1)
            #expect(secrets.clientTrafficSecretBytes.count == 32)
            #expect(secrets.serverTrafficSecretBytes.count == 32)
        } else {
            #expect(secrets.masterSecretBytes == first.secrets.pointee.masterSecretBytes, "resumed: same master")
        }

        let sequence = KernelTLSSequence(version: suite.version, ticketsSent: Int(secrets.ticketsSent))
        let keys = try KernelTLSHandoff.keys(
            ssl: pair.server,
            secrets: pair.secrets,
            transmitSequence: sequence.transmit,
            receiveSequence: sequence.receive
        )
        let sealed = try Opener.records(pair.serverWrite("resumed"))
        #expect(try Opener.open(sealed[0], with: keys.transmit).plaintext == Array("resumed".utf8))
        let request = try Opener.records(pair.clientWrite("request"))
        #expect(try Opener.open(request[0], with: keys.receive).plaintext == Array("request".utf8))
    }

    /// Records the worker had OpenSSL open or seal before the handoff move the numbers on, one each.
    @Test(arguments: [KernelTLSSuite.tls13, KernelTLSSuite.tls12])
    func recordsHandledInUserspaceFirstCount(suite: KernelTLSSuite) async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: suite.version, suite: suite.name)
        defer { SSL_CTX_free(clientContext) }
        let pair = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try pair.handshake()
        // The client's first request arrives with (or right after) its Finished and is read in userspace; the
        // server answers it in userspace too.
        pair.deliverToServer(try pair.clientWrite("first request"))
        #expect(try pair.serverRead() == Array("first request".utf8))
        pair.deliverToClient(try pair.serverWrite("first response"))

        let sequence = KernelTLSSequence(
            version: suite.version,
            ticketsSent: Int(pair.secrets.pointee.ticketsSent),
            recordsWritten: 1,
            recordsRead: 1
        )
        #expect(
            sequence == (suite.version == .tls13 ? .init(transmit: 2, receive: 1) : .init(transmit: 2, receive: 2))
        )
        let keys = try KernelTLSHandoff.keys(
            ssl: pair.server,
            secrets: pair.secrets,
            transmitSequence: sequence.transmit,
            receiveSequence: sequence.receive
        )
        let request = try Opener.records(pair.clientWrite("second request"))
        #expect(try Opener.open(request[0], with: keys.receive).plaintext == Array("second request".utf8))
        let response = try Opener.records(pair.serverWrite("second response"))
        #expect(try Opener.open(response[0], with: keys.transmit).plaintext == Array("second response".utf8))
    }

    /// On this machine's kernel (no tls ULP) the handoff fails at the ULP, before anything changed: the socket
    /// stays plain TCP and the session goes on in userspace. Where the kernel has the ULP, it succeeds.
    @Test func handOnALoopbackSocketFailsCleanlyWithoutTheULP() async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: .tls13, suite: KernelTLSSuite.tls13.name)
        defer { SSL_CTX_free(clientContext) }
        let pair = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try pair.handshake()
        let socket = try KernelTLSLoopbackPair()
        defer { socket.close() }
        let sequence = KernelTLSSequence(version: .tls13, ticketsSent: Int(pair.secrets.pointee.ticketsSent))
        do {
            try KernelTLSHandoff.hand(
                ssl: pair.server,
                fd: socket.server,
                secrets: pair.secrets,
                transmitSequence: sequence.transmit,
                receiveSequence: sequence.receive
            )
            #expect(KernelTLSSupport.offersTLS(KernelTLSSupport.availableULPs()))
            #expect(KernelTLSLoopbackPair.ulp(of: socket.server) == "tls")
        } catch {
            #expect(!KernelTLSSupport.offersTLS(KernelTLSSupport.availableULPs()))
            #expect(error.code == .ulp)
            #expect(error.errno == ENOENT)
            #expect(!error.socketChanged)
            #expect(KernelTLSLoopbackPair.ulp(of: socket.server) == "")
            #expect(socket.carriesPlainBytes())
            // The session itself is untouched: it still seals records OpenSSL's client opens.
            pair.deliverToClient(try pair.serverWrite("userspace"))
            #expect(try pair.clientRead() == Array("userspace".utf8))
        }
    }

    /// A protocol or cipher kTLS does not carry is refused before the socket is touched.
    @Test(arguments: [
        KernelTLSSuite(version: .tls13, cipher: .aes128GCM, name: "TLS_AES_128_CCM_SHA256"),
        KernelTLSSuite(version: .tls12, cipher: .aes128GCM, name: "ECDHE-ECDSA-AES128-SHA256"),
    ])
    func unsupportedCiphersAreRefusedUntouched(suite: KernelTLSSuite) async throws {
        var settings = TLSSettings()
        settings.cipherSuites = "TLS_AES_128_CCM_SHA256"
        settings.ciphers = "ECDHE-ECDSA-AES128-SHA256"
        let serverContext = try await KernelTLSSessionPair.serverContext(settings)
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: suite.version, suite: suite.name)
        defer { SSL_CTX_free(clientContext) }
        let pair = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try pair.handshake()
        let error = try handFailure(pair)
        #expect(error.code == .unsupported)
        #expect(error.message.contains("is not supported by kTLS"), "\(error.message)")
    }

    /// A session whose secrets were not captured, or a slot holding another session's, is refused.
    @Test func missingOrForeignSecretsAreRefused() async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: .tls13, suite: KernelTLSSuite.tls13.name)
        defer { SSL_CTX_free(clientContext) }
        // No slot on the SSL: the capture skips the session (and nothing crashes).
        let unattached = try KernelTLSSessionPair(
            serverContext: serverContext,
            clientContext: clientContext,
            attachesSecrets: false
        )
        try unattached.handshake()
        #expect(unattached.secrets.pointee.clientRandomLength == 0)
        let missing = try handFailure(unattached)
        #expect(missing.code == .keyMaterial)
        #expect(missing.message.contains("no secret was captured"), "\(missing.message)")

        // A context without the capture: the slot stays empty.
        let uncaptured = try await KernelTLSSessionPair.serverContext(capture: false)
        defer { SSL_CTX_free(uncaptured) }
        let plain = try KernelTLSSessionPair(serverContext: uncaptured, clientContext: clientContext)
        try plain.handshake()
        #expect(try handFailure(plain).code == .keyMaterial)

        // Another session's secrets never key this one.
        let other = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try other.handshake()
        let foreign = try handFailure(unattached, secrets: other.secrets)
        #expect(foreign.code == .keyMaterial)
        #expect(foreign.message.contains("another session"), "\(foreign.message)")
    }

    /// The handoff waits for a record boundary: not mid-handshake, nor with records OpenSSL still holds.
    @Test func sessionsNotAtARecordBoundaryAreRefused() async throws {
        let serverContext = try await KernelTLSSessionPair.serverContext()
        defer { SSL_CTX_free(serverContext) }
        let clientContext = try KernelTLSSessionPair.clientContext(version: .tls13, suite: KernelTLSSuite.tls13.name)
        defer { SSL_CTX_free(clientContext) }

        let fresh = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        #expect(try fresh.serverStep() == false)
        let unfinished = try handFailure(fresh)
        #expect(unfinished.code == .notReady)
        #expect(unfinished.message.contains("handshake is not finished"), "\(unfinished.message)")

        let unsent = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try unsent.handshake()
        try unsent.serverWriteWithoutSending("still in the write BIO")
        let pendingOutput = try handFailure(unsent)
        #expect(pendingOutput.code == .notReady)
        #expect(pendingOutput.message.contains("still to be sent"), "\(pendingOutput.message)")

        let unread = try KernelTLSSessionPair(serverContext: serverContext, clientContext: clientContext)
        try unread.handshake()
        unread.deliverToServer(try unread.clientWrite("not read yet"))
        let pendingInput = try handFailure(unread)
        #expect(pendingInput.code == .notReady)
        #expect(pendingInput.message.contains("still buffered"), "\(pendingInput.message)")
    }

    /// Runs `hand` on a fresh loopback socket, expecting it to throw without changing the socket.
    private func handFailure(
        _ pair: KernelTLSSessionPair,
        secrets: UnsafeMutablePointer<KernelTLSSecrets>? = nil
    ) throws -> KernelTLSError {
        let socket = try KernelTLSLoopbackPair()
        defer { socket.close() }
        do {
            try KernelTLSHandoff.hand(
                ssl: pair.server,
                fd: socket.server,
                secrets: secrets ?? pair.secrets,
                transmitSequence: 1,
                receiveSequence: 0
            )
        } catch {
            #expect(!error.socketChanged)
            #expect(KernelTLSLoopbackPair.ulp(of: socket.server) == "")
            #expect(socket.carriesPlainBytes())
            return error
        }
        Issue.record("hand accepted a session it should refuse")
        throw KernelTLSTestError("hand did not throw")
    }

    private static func clientRandom(_ ssl: OpaquePointer) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = SSL_get_client_random(ssl, &bytes, bytes.count)
        return Array(bytes.prefix(count))
    }
}
