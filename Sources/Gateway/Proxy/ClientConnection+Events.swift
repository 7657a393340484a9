import Glibc

/// A failure on the client's side of an exchange that the gateway answers itself.
package enum ClientFailure: UInt8, Sendable {
    case headerTimeout
    case bodyTimeout

    package var status: Int { 408 }

    package var message: StaticString {
        switch self {
        case .headerTimeout: return "timed out reading the request head"
        case .bodyTimeout: return "timed out reading the request body"
        }
    }

    package var timeout: TimeoutKind {
        switch self {
        case .headerTimeout: return .clientHeader
        case .bodyTimeout: return .clientBody
        }
    }
}

/// What the worker does for a client connection after an event. The machine decides; the worker
/// performs the I/O, the timers and whatever touches the upstream side.
package enum ClientAction: Equatable, Sendable {
    /// No receive buffer was free: post the receive again on the next loop turn.
    case awaitBuffers
    /// New input is held: act on it in the current state (parse a head, forward body, discard).
    case processInput
    /// Send the rest of the output.
    case send
    /// The output was sent in full; release it, then go on as `then` says.
    case outputSent(then: AfterOutput)
    /// Answer with a gateway error (nothing of a response has been sent yet).
    case respond(ClientFailure)
    /// End the exchange in flight with a gateway error, or cut the client if its response started.
    case abortExchange(ClientFailure)
    /// A retry's backoff ended: start the next attempt.
    case startRetry
    /// A plugin's delay ended: go on with the request's plugins where they stopped.
    case resumePlugins
    /// The rate-limit backend did not answer in time: go on with the plugin that waited, as failed.
    case backendTimeout
    /// A TLS connection idled: free its record buffers and keep waiting for a request.
    case trimIdleTLS
    /// A tunnel's idle timer fired: close it if nothing moved for its idle timeout, else wait the rest.
    case tunnelIdle
    /// An HTTP/2 connection idled out: send GOAWAY, then close.
    case http2Idle
    /// Close the connection, counting `timeout` if one caused it.
    case close(timeout: TimeoutKind?)
    /// Give back receive buffer `buffer`, then close (input arrived that nothing asked for).
    case discardAndClose(buffer: Int32)

    /// Where a connection goes once its output is sent.
    package enum AfterOutput: Equatable, Sendable {
        /// Nothing waits on the send.
        case idle
        /// A gateway-generated response is complete.
        case finishResponse
        /// The proxied response is complete: finish the exchange.
        case finishExchange
        /// More of the proxied response can flow from upstream connection `upstream`.
        case resumeUpstream(Int32)
        /// Tunnel bytes reached the client: read more from the upstream.
        case resumeTunnel
        /// HTTP/2 frames went out: send what the session has next.
        case resumeHTTP2
    }
}

extension ClientConnection {
    /// A receive completed with `result` bytes in `buffer` (or 0 at end of stream, or a negative errno).
    @inline(__always)
    package mutating func receiveCompleted(result: Int32, buffer: Int32) -> ClientAction {
        receiving = false
        if result == -ENOBUFS { return .awaitBuffers }
        guard result > 0 else { return .close(timeout: nil) }
        bytesIn &+= Int64(result)
        // Receives are posted only with no input pending; anything else would reorder bytes.
        guard inputSource == .none else { return .discardAndClose(buffer: buffer) }
        inputSource = .provided
        inputID = buffer
        inputOffset = 0
        inputLength = result
        return .processInput
    }

    /// A send completed with `result` bytes (or a negative errno).
    @inline(__always)
    package mutating func sendCompleted(result: Int32) -> ClientAction {
        sending = false
        guard result > 0 else { return .close(timeout: nil) }
        bytesOut &+= Int64(result)
        if result < outputLength {
            outputOffset += result
            outputLength -= result
            return .send
        }
        switch state {
        case .responding: return .outputSent(then: .finishResponse)
        case .exchanging:
            if responseDone { return .outputSent(then: .finishExchange) }
            return .outputSent(then: upstream >= 0 ? .resumeUpstream(upstream) : .idle)
        case .tunneling: return .outputSent(then: .resumeTunnel)
        case .http2: return .outputSent(then: .resumeHTTP2)
        case .idle, .readingHead, .lingering, .closed: return .outputSent(then: .idle)
        }
    }

    /// The connection's timer fired.
    package mutating func deadlineReached() -> ClientAction {
        let kind = deadline
        deadline = .none
        switch kind {
        case .header:
            // A client that sent part of a head is told; a silent one is just closed.
            return headBlock >= 0 || inputSource != .none ? .respond(.headerTimeout) : .close(timeout: nil)
        case .body: return .abortExchange(.bodyTimeout)
        case .send: return .close(timeout: .clientSend)
        case .retryBackoff: return .startRetry
        case .pluginDelay: return .resumePlugins
        case .backendWait: return .backendTimeout
        case .tlsHandshake: return .close(timeout: .tlsHandshake)
        case .tlsIdleTrim: return .trimIdleTLS
        case .tunnelIdle: return .tunnelIdle
        case .keepAlive:
            // An HTTP/2 connection without open streams idled out: it says goodbye with GOAWAY.
            return state == .http2 ? .http2Idle : .close(timeout: nil)
        case .linger, .none: return .close(timeout: nil)
        }
    }
}
