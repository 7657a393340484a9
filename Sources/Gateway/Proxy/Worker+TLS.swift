import AccessLog
import CSSL
import Glibc

/// The TLS layer between a client's socket and its connection machine: ciphertext the engine receives
/// is opened into plaintext input the machine parses, and plaintext output the machine sends is sealed
/// and sent as records. The machine sees a send as complete only once its records are all sent.
extension Worker {
    /// Largest plaintext sealed per send: two full records, so a connection's write BIO stays small.
    static var tlsSealChunk: Int { 32768 }

    /// Whether the client connection in `slot` speaks TLS.
    @inline(__always)
    func isTLS(_ slot: Int) -> Bool { tlsStreams[slot].phase != .none }

    // MARK: - Handshake

    /// Starts the TLS layer of a connection accepted on a TLS listener; false when it cannot (closed).
    func startTLS(_ slot: Int) -> Bool {
        guard let set = plan.tls, TLSStream.start(tlsStreams + slot, set: set) else {
            telemetry.recordTLSHandshake(.internal, protocol: .unknown, nanoseconds: 0, resumed: false)
            return false
        }
        tlsStreams[slot].offersHTTP2 = clients[slot].http2Allowed
        if set.kernelTLS {
            if kernelSecrets == nil { kernelSecrets = zeroed(clientCapacity) }
            let secrets = kernelSecrets! + slot
            secrets.pointee = KernelTLSSecrets()
            SSL_set_ex_data(tlsStreams[slot].ssl, KernelTLSKeyCapture.secretsIndex, UnsafeMutableRawPointer(secrets))
            tlsStreams[slot].kernelCapable = true
        }
        return true
    }

    /// Runs the handshake as far as the records received allow.
    func advanceHandshake(_ slot: Int) {
        let stream = tlsStreams + slot
        switch stream.pointee.handshake() {
        case .wantRead:
            pumpTLSOutput(slot)
            postClientReceive(slot)
        case .failed(let result):
            failHandshake(slot, result)
        case .done:
            telemetry.recordTLSHandshake(
                .success,
                protocol: stream.pointee.protocolLabel,
                nanoseconds: now &- stream.pointee.handshakeStart,
                resumed: stream.pointee.resumed
            )
            if stream.pointee.negotiatedHTTP2 {
                // HTTP/2 keeps userspace records: its frames are written between records anyway.
                pumpTLSOutput(slot)
                startHTTP2(slot)
                return
            }
            // The head timeout of a new connection runs from here: the handshake had its own.
            setDeadline(client: slot, .header, after: plan.headerTimeout)
            if stream.pointee.kernelCapable && !stream.pointee.hasBufferedInput {
                // Kernel TLS takes over once the handshake's last records (the tickets) are sent; no
                // receive is posted until then, so no record is read by the wrong side.
                stream.pointee.handoffPending = true
                pumpTLSOutput(slot)
                handToKernel(slot)
                return
            }
            pumpTLSOutput(slot)
            // The client's first request may have come with its Finished.
            deliverTLSInput(slot)
        }
    }

    /// Counts a failed handshake, sends the alert OpenSSL queued (best effort) and closes.
    func failHandshake(_ slot: Int, _ result: TLSHandshakeResult) {
        tlsStreams[slot].failure = result
        if result == .plainHTTP {
            // As nginx does: tell a browser or curl pointed at the wrong scheme what happened.
            let answer: StaticString =
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 51\r\nConnection: close\r\n\r\nThe plain HTTP request was sent to an HTTPS port.\r\n"
            _ = Glibc.send(
                clients[slot].fd,
                answer.utf8Start,
                answer.utf8CodeUnitCount,
                Int32(MSG_DONTWAIT | MSG_NOSIGNAL)
            )
        } else {
            sendFinalRecords(slot)
        }
        closeClient(slot)
    }

    /// Sends what the write BIO holds (an alert or close_notify) without waiting: the connection is
    /// about to close, so nothing can be queued behind it.
    func sendFinalRecords(_ slot: Int) {
        guard !tlsStreams[slot].sendPosted else { return }
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &buffer) { bytes in
            let count = tlsStreams[slot].drainOutput(into: bytes)
            if count > 0 {
                _ = Glibc.send(clients[slot].fd, bytes.baseAddress, count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
        }
    }

    /// Ends the TLS layer of a closing connection: counts a handshake that never finished, sends
    /// close_notify after a complete exchange, frees the session.
    func closeTLS(_ slot: Int) {
        let stream = tlsStreams + slot
        if stream.pointee.phase == .handshaking {
            telemetry.recordTLSHandshake(
                stream.pointee.failure ?? .peerClosed,
                protocol: stream.pointee.protocolLabel,
                nanoseconds: 0,
                resumed: false
            )
        } else if stream.pointee.phase == .established && !stream.pointee.sendPosted && !clients[slot].sending {
            stream.pointee.shutdown()
            sendFinalRecords(slot)
        }
        if stream.pointee.cipherBlock >= 0 {
            blocks.release(stream.pointee.cipherBlock)
            stream.pointee.cipherBlock = -1
        }
        stream.pointee.close()
    }

    /// Fills the access record's TLS fields: protocol and cipher interned once per worker, the client
    /// certificate's subject once per connection.
    func recordTLS(_ slot: Int, _ record: UnsafeMutablePointer<AccessRecord>) {
        let stream = tlsStreams + slot
        if stream.pointee.protocolSymbol == .none, let logger = observability.accessLogger {
            let version = stream.pointee.protocolLabel
            if tlsProtocolSymbols[version.rawValue] == .none {
                tlsProtocolSymbols[version.rawValue] = (try? logger.register(version.label)) ?? .none
            }
            stream.pointee.protocolSymbol = tlsProtocolSymbols[version.rawValue]
            if let name = stream.pointee.cipherName {
                // OpenSSL's cipher names are static strings: the address is the key.
                let key = UInt(bitPattern: name)
                if let symbol = tlsCipherSymbols[key] {
                    stream.pointee.cipherSymbol = symbol
                } else {
                    let symbol = (try? logger.register(String(cString: name))) ?? .none
                    tlsCipherSymbols[key] = symbol
                    stream.pointee.cipherSymbol = symbol
                }
            }
            // The subject was printed once at the handshake; intern those bytes.
            if stream.pointee.subjectLength > 0 {
                let subject = String(decoding: stream.pointee.subject, as: UTF8.self)
                stream.pointee.subjectSymbol = (try? logger.register(subject)) ?? .none
            }
        }
        record.pointee.tlsProtocol = stream.pointee.protocolSymbol
        record.pointee.tlsCipher = stream.pointee.cipherSymbol
        record.pointee.tlsClientSubject = stream.pointee.subjectSymbol
    }

    /// How long a TLS keep-alive connection idles before its buffers go back.
    static var tlsIdleTrimDelay: UInt64 { 1_000_000_000 }

    /// Frees an idle TLS connection's record buffers and replaces its memory BIOs, whose buffers keep the
    /// size of the largest records they held: an idle connection then costs about what nginx's does
    /// (with `SSL_MODE_RELEASE_BUFFERS`), while a busy one reuses its buffers and allocates nothing per
    /// request. The next request after the pause allocates them again.
    func trimIdleTLS(_ slot: Int) {
        setDeadline(client: slot, .keepAlive, after: plan.keepaliveTimeout &- Self.tlsIdleTrimDelay)
        let stream = tlsStreams + slot
        guard stream.pointee.phase == .established, !stream.pointee.sendPosted, !stream.pointee.hasBufferedInput,
            stream.pointee.pendingOutput == 0, let ssl = stream.pointee.ssl
        else { return }
        _ = SSL_free_buffers(ssl)
        guard let input = BIO_new(BIO_s_mem()) else { return }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            return
        }
        _ = gw_bio_set_mem_eof_return(input, -1)
        // SSL_set_bio frees the BIOs it replaces.
        SSL_set_bio(ssl, input, output)
        stream.pointee.readBIO = input
        stream.pointee.writeBIO = output
    }

    // MARK: - Input

    /// Ciphertext arrived (or the receive failed).
    func onTLSReceive(_ slot: Int, _ result: Int32, _ flags: UInt32) {
        clients[slot].receiving = false
        if result == -ENOBUFS {
            starvedReceives.append(Int32(slot))
            return
        }
        guard result > 0 else {
            closeClient(slot)
            return
        }
        guard feedReceived(tlsStreams + slot, result: result, flags: flags) else {
            closeClient(slot)
            return
        }
        if tlsStreams[slot].phase == .handshaking {
            // Handshake time runs from the first ClientHello bytes: a preconnected socket's wait is not TLS.
            if tlsStreams[slot].handshakeStart == 0 { tlsStreams[slot].handshakeStart = now }
            advanceHandshake(slot)
        } else {
            deliverTLSInput(slot)
        }
    }

    /// Opens buffered records into a block the machine takes as its input, or asks for more ciphertext.
    func deliverTLSInput(_ slot: Int) {
        // The machine still holds input: it asks again (postClientReceive) once it is consumed.
        guard clients[slot].inputSource == .none, clients[slot].state != .closed else { return }
        let block = blocks.take()
        guard block >= 0 else {
            closeClient(slot)
            return
        }
        let buffer = UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        switch tlsStreams[slot].read(into: buffer) {
        case .bytes(let count):
            // Plaintext bytes, as on a plain connection: sizes and logs count HTTP, not records.
            clients[slot].bytesIn &+= Int64(count)
            clients[slot].inputSource = .block
            clients[slot].inputID = block
            clients[slot].inputOffset = 0
            clients[slot].inputLength = Int32(count)
            processClientInput(slot)
        case .wantRead:
            blocks.release(block)
            postRawClientReceive(slot)
        case .closed, .failed:
            blocks.release(block)
            closeClient(slot)
        }
    }

    /// Queues `slot` to open records it already holds on this loop turn (not from inside the caller,
    /// which may be deep in the machine).
    func queueTLSInput(_ slot: Int) {
        guard !tlsStreams[slot].queued else { return }
        tlsStreams[slot].queued = true
        tlsReady.append(UInt64(slot) | UInt64(clients[slot].generation) << 32)
    }

    /// Queues upstream `slot` likewise (its entries carry ``upstreamReadyFlag``).
    func queueUpstreamTLSInput(_ slot: Int) {
        guard !upstreamTLS[slot].queued else { return }
        upstreamTLS[slot].queued = true
        tlsReady.append(UInt64(slot) | UInt64(upstreamConnections[slot].generation) << 32 | Self.upstreamReadyFlag)
    }

    static var upstreamReadyFlag: UInt64 { 1 << 63 }

    /// Delivers input to the connections queued by ``queueTLSInput(_:)`` and ``queueUpstreamTLSInput(_:)``.
    func runTLSReady() {
        var rounds = 0
        while !tlsReady.isEmpty && rounds < 64 {
            rounds += 1
            let ready = tlsReady
            tlsReady.removeAll(keepingCapacity: true)
            for packed in ready {
                let slot = Int(packed & 0xFFFF_FFFF)
                let generation = UInt32(truncatingIfNeeded: (packed >> 32) & 0xFFFF_FFF)
                if packed & Self.upstreamReadyFlag != 0 {
                    guard upstreamConnections[slot].generation == generation, upstreamConnections[slot].state != .closed
                    else { continue }
                    upstreamTLS[slot].queued = false
                    deliverUpstreamTLS(slot)
                    continue
                }
                guard clients[slot].generation == generation, clients[slot].state != .closed else { continue }
                tlsStreams[slot].queued = false
                deliverTLSInput(slot)
            }
        }
    }

    // MARK: - Output

    /// Seals the next piece of the machine's output and starts sending it.
    func sealClientOutput(_ slot: Int) {
        let c = clients[slot]
        clients[slot].sending = true
        let count = min(Int(c.outputLength), Self.tlsSealChunk)
        let plaintext = UnsafeRawBufferPointer(
            start: pointer(c.outputSource, c.outputID) + Int(c.outputOffset),
            count: count
        )
        guard tlsStreams[slot].write(plaintext) else {
            ERR_clear_error()
            closeClient(slot)
            return
        }
        tlsStreams[slot].plainInFlight = Int32(count)
        setDeadline(client: slot, .send, after: plan.sendTimeout)
        pumpTLSOutput(slot)
    }

    /// Sends sealed records from the write BIO, one block at a time; reports the machine's send
    /// complete when none are left.
    func pumpTLSOutput(_ slot: Int) {
        let stream = tlsStreams + slot
        switch sendSealedRecords(stream, fd: clients[slot].fd, userData: clientSendData(slot)) {
        case .posted: return
        case .outOfMemory:
            closeClient(slot)
            return
        case .drained: break
        }
        let plain = stream.pointee.plainInFlight
        guard plain > 0 else {
            if stream.pointee.handoffPending { handToKernel(slot) }
            return
        }
        stream.pointee.plainInFlight = 0
        perform(clients[slot].sendCompleted(result: plain), client: slot)
    }

    @inline(__always)
    func clientSendData(_ slot: Int) -> UInt64 {
        UserData.make(.clientSend, slot: UInt32(slot), generation: clients[slot].generation)
    }

    /// Hands an established session to kernel TLS once nothing of OpenSSL's is in flight; the connection
    /// then runs as a plain one. A refusal that left the socket untouched keeps userspace records; one
    /// after the ULP was attached closes the connection.
    func handToKernel(_ slot: Int) {
        let stream = tlsStreams + slot
        guard stream.pointee.handoffPending, !stream.pointee.sendPosted, stream.pointee.pendingOutput == 0,
            let ssl = stream.pointee.ssl, let secrets = kernelSecrets.map({ $0 + slot })
        else { return }
        stream.pointee.handoffPending = false
        defer { secrets.pointee.wipe() }
        guard let version = KernelTLSProtocol(rawValue: UInt16(truncatingIfNeeded: SSL_version(ssl))) else {
            postClientReceive(slot)
            return
        }
        let sequence = KernelTLSSequence(version: version, ticketsSent: Int(secrets.pointee.ticketsSent))
        do {
            try KernelTLSHandoff.hand(
                ssl: ssl,
                fd: clients[slot].fd,
                secrets: secrets,
                transmitSequence: sequence.transmit,
                receiveSequence: sequence.receive
            )
            stream.pointee.phase = .kernel
        } catch {
            if error.socketChanged {
                closeClient(slot)
                return
            }
        }
        postClientReceive(slot)
    }

    /// Records went out (or the send failed).
    func onTLSSend(_ slot: Int, _ result: Int32) {
        guard result > 0 else {
            tlsStreams[slot].sendPosted = false
            closeClient(slot)
            return
        }
        guard
            sealedSendCompleted(tlsStreams + slot, result: result, fd: clients[slot].fd, userData: clientSendData(slot))
        else { return }
        pumpTLSOutput(slot)
    }
}
