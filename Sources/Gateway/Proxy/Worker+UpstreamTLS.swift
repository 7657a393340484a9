import CSSL
import Glibc

/// TLS to `https` upstreams: a client session per upstream connection, handshaken after the TCP
/// connect (within the connect timeout), kept with the connection in the keep-alive pool. Response
/// plaintext is opened into pool blocks; their ids reach the response code tagged with
/// ``responseBlockTag`` in place of a receive-buffer id.
extension Worker {
    /// Marks a response-bytes id as a pool block rather than a receive buffer.
    static var responseBlockTag: Int32 { 1 << 30 }

    /// Where response bytes with id `id` live.
    @inline(__always)
    func responseSource(_ id: Int32) -> (ByteSource, Int32) {
        id & Self.responseBlockTag != 0 ? (.block, id & ~Self.responseBlockTag) : (.provided, id)
    }

    /// Gives back response bytes `id` (a receive buffer, or a tagged block).
    @inline(__always)
    func recycleResponseBuffer(_ id: Int32) {
        let (source, raw) = responseSource(id)
        release(source, raw)
    }

    // MARK: - Handshake

    /// The TCP connect completed: start TLS, or report the connect as the plain path does.
    func onUpstreamTLSConnect(_ slot: Int, _ result: Int32, _ context: TLSClientContext) {
        guard result == 0 else {
            clearDeadline(upstream: slot)
            perform(upstreamConnections[slot].connectCompleted(result: result), upstream: slot)
            return
        }
        let node = Int(upstreamConnections[slot].node)
        let address = plan.nodeAddresses[node]
        let host =
            address.hasPrefix("[")
            ? String(address.dropFirst().prefix { $0 != "]" }) : String(address.prefix { $0 != ":" })
        guard TLSStream.startClient(upstreamTLS + slot, context: context, address: host) else {
            failUpstreamHandshake(slot)
            return
        }
        // The connect deadline keeps running: it covers the handshake too.
        advanceUpstreamHandshake(slot)
    }

    func advanceUpstreamHandshake(_ slot: Int) {
        switch upstreamTLS[slot].handshake() {
        case .wantRead:
            pumpUpstreamTLSOutput(slot)
            postRawUpstreamReceive(slot, deadline: false)
        case .failed:
            failUpstreamHandshake(slot)
        case .done:
            clearDeadline(upstream: slot)
            pumpUpstreamTLSOutput(slot)
            perform(upstreamConnections[slot].connectCompleted(result: 0), upstream: slot)
        }
    }

    /// A failed handshake counts as a failed connect (retried elsewhere when the policy allows).
    func failUpstreamHandshake(_ slot: Int) {
        clearDeadline(upstream: slot)
        perform(.fail(.tlsHandshakeFailed, mayRetry: true), upstream: slot)
    }

    // MARK: - Input

    func onUpstreamTLSReceive(_ slot: Int, _ result: Int32, _ flags: UInt32) {
        guard result > 0 else {
            if upstreamTLS[slot].phase == .handshaking {
                upstreamConnections[slot].receiving = false
                if result == -ENOBUFS {
                    postRawUpstreamReceive(slot, deadline: false)
                } else {
                    failUpstreamHandshake(slot)
                }
                return
            }
            onUpstreamReceive(slot, result, flags)
            return
        }
        upstreamConnections[slot].receiving = false
        guard feedReceived(upstreamTLS + slot, result: result, flags: flags) else {
            onUpstreamReceive(slot, -EPROTO, 0)
            return
        }
        if upstreamTLS[slot].phase == .handshaking {
            advanceUpstreamHandshake(slot)
        } else {
            deliverUpstreamTLS(slot)
        }
    }

    /// Opens buffered records into a block and hands it to the connection machine like a receive.
    func deliverUpstreamTLS(_ slot: Int) {
        guard upstreamConnections[slot].state != .closed else { return }
        let block = blocks.take()
        guard block >= 0 else {
            onUpstreamReceive(slot, -ENOMEM, 0)
            return
        }
        let buffer = UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        switch upstreamTLS[slot].read(into: buffer) {
        case .bytes(let count):
            if upstreamConnections[slot].state != .tunneling { clearDeadline(upstream: slot) }
            let client = Int(upstreamConnections[slot].client)
            let action = upstreamConnections[slot].receiveCompleted(
                result: Int32(count),
                buffer: block | Self.responseBlockTag,
                clientSending: client >= 0 && clients[client].sending
            )
            perform(action, upstream: slot)
        case .wantRead:
            blocks.release(block)
            postRawUpstreamReceive(
                slot,
                deadline: upstreamConnections[slot].state != .tunneling && requestForwarded(slot)
            )
        case .closed:
            blocks.release(block)
            onUpstreamReceive(slot, 0, 0)
        case .failed:
            blocks.release(block)
            onUpstreamReceive(slot, -EPROTO, 0)
        }
    }

    /// Posts a receive on the socket (the TLS layer needs more records).
    func postRawUpstreamReceive(_ slot: Int, deadline: Bool) {
        guard !upstreamConnections[slot].receiving else { return }
        upstreamConnections[slot].receiving = true
        io.receive(fd: upstreamConnections[slot].fd, userData: upstreamData(.upstreamReceive, slot))
        if deadline {
            let timeout = plan.upstreams[Int(upstreamConnections[slot].upstream)].readTimeout
            setDeadline(upstream: slot, .read, after: timeout)
        }
    }

    // MARK: - Output

    /// Seals the request bytes in the output and starts sending the records.
    func sealUpstreamOutput(_ slot: Int) {
        let u = upstreamConnections[slot]
        upstreamConnections[slot].sending = true
        let count = min(Int(u.outputLength), Self.tlsSealChunk)
        let plaintext = UnsafeRawBufferPointer(
            start: pointer(u.outputSource, u.outputID) + Int(u.outputOffset),
            count: count
        )
        guard upstreamTLS[slot].write(plaintext) else {
            ERR_clear_error()
            upstreamConnections[slot].sending = false
            perform(.fail(.connectionFailed, mayRetry: !upstreamConnections[slot].responseStarted), upstream: slot)
            return
        }
        upstreamTLS[slot].plainInFlight = Int32(count)
        setDeadline(upstream: slot, .send, after: plan.upstreams[Int(u.upstream)].sendTimeout)
        pumpUpstreamTLSOutput(slot)
    }

    func pumpUpstreamTLSOutput(_ slot: Int) {
        let stream = upstreamTLS + slot
        switch sendSealedRecords(stream, fd: upstreamConnections[slot].fd, userData: upstreamData(.upstreamSend, slot))
        {
        case .posted: return
        case .outOfMemory:
            perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
            return
        case .drained: break
        }
        let plain = stream.pointee.plainInFlight
        guard plain > 0 else { return }
        stream.pointee.plainInFlight = 0
        if upstreamH2[slot].active {
            upstreamH2WireSent(slot)
            return
        }
        perform(upstreamConnections[slot].sendCompleted(result: plain), upstream: slot)
    }

    func onUpstreamTLSSend(_ slot: Int, _ result: Int32) {
        guard result > 0 else {
            upstreamTLS[slot].sendPosted = false
            upstreamTLS[slot].plainInFlight = 0
            if upstreamTLS[slot].phase == .handshaking {
                failUpstreamHandshake(slot)
            } else if upstreamH2[slot].active {
                upstreamH2[slot].wireSending = false
                perform(.fail(.connectionFailed, mayRetry: false), upstream: slot)
            } else {
                perform(upstreamConnections[slot].sendCompleted(result: result), upstream: slot)
            }
            return
        }
        let fd = upstreamConnections[slot].fd
        guard
            sealedSendCompleted(upstreamTLS + slot, result: result, fd: fd, userData: upstreamData(.upstreamSend, slot))
        else { return }
        pumpUpstreamTLSOutput(slot)
    }

    /// Frees an upstream connection's session and its records in flight.
    func closeUpstreamTLS(_ slot: Int) {
        if upstreamTLS[slot].cipherBlock >= 0 {
            blocks.release(upstreamTLS[slot].cipherBlock)
            upstreamTLS[slot].cipherBlock = -1
        }
        upstreamTLS[slot].close()
    }
}
