import CLiburing
import Glibc

extension Worker {
    // MARK: - Node choice

    /// Picks a node of `upstream` not yet tried for this client's request; -1 if none. A pick made in
    /// panic mode is counted.
    @inline(__always)
    func pickNode(client: Int, upstream: Int) -> Int {
        let pick = picker.pick(
            upstream: upstream,
            tried: clients[client].triedNodes,
            hashKey: clients[client].hashKey,
            now: now
        )
        if pick.panic && pick.node >= 0 { telemetry.recordPanicRequest(upstream: upstream) }
        return pick.node
    }

    /// The consistent-hash key of the request just parsed into `headers`: a header's value, a cookie's
    /// value, or the client address, as the upstream's `hash_on` says. A missing key hashes as empty.
    func requestHashKey(_ client: Int, upstream: Int, source: UnsafeRawBufferPointer) -> UInt64 {
        unowned(unsafe) let requestPlan = requestPlan(client)
        let entry = requestPlan.upstreams[upstream]
        let key = requestPlan.arena(entry.hashKeyOffset, entry.hashKeyLength)
        switch entry.hashOn {
        case .remoteAddress:
            return ConsistentHashRing.hash(
                UnsafeRawBufferPointer(
                    start: clientAddressBytes + client * 48,
                    count: Int(clients[client].clientAddressLength)
                )
            )
        case .header:
            if let value = headerValue(named: key, source: source) { return ConsistentHashRing.hash(value) }
        case .cookie:
            var index = 0
            while index < headers.count {
                if HTTPBytes.equalsIgnoringCase(source, headers.name(index), "cookie"),
                    let value = KeyExtraction.cookie(
                        named: key,
                        in: UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
                    )
                {
                    return ConsistentHashRing.hash(value)
                }
                index += 1
            }
        }
        return ConsistentHashRing.hash(UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The first value of header `name` (case-insensitive) in the parsed head.
    func headerValue(named name: UnsafeRawBufferPointer, source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        for index in 0..<headers.count
        where HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: source[headers.name(index)]), name) {
            return UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
        }
        return nil
    }

    // MARK: - Accounting

    /// Counts a new attempt on `node` for the client's request.
    @inline(__always)
    func enterNode(client: Int, upstream: Int, node: Int) {
        if clients[client].attempts == 0 {
            clients[client].firstAttemptStart = now
            exchanges.requestStarted()
        }
        clients[client].attempts &+= 1
        let index = Int(plan.nodes[node].member) - Int(plan.upstreams[upstream].firstMember)
        if index >= 0 && index < 64 { clients[client].triedNodes |= 1 << UInt64(index) }
        clients[client].node = Int32(node)
        clients[client].exchangeCounted = true
        picker.started(node: node)
    }

    /// Stops counting the client's current attempt against its node; `failure` says why it failed when
    /// no response status does (for its trace span).
    @inline(__always)
    func leaveNode(client: Int, failure: StaticString? = nil) {
        guard clients[client].exchangeCounted else { return }
        clients[client].exchangeCounted = false
        let node = Int(clients[client].node)
        guard node >= 0 else { return }
        // Latency of this attempt: to the response end, or however long the failure took.
        let end = clients[client].upstreamEnd > clients[client].upstreamStart ? clients[client].upstreamEnd : now
        picker.finished(node: node, latency: end &- clients[client].upstreamStart, now: now)
        if traceStates[client].active {
            endAttemptSpan(client, node: node, failure: failure ?? clients[client].errorMessage)
        }
    }

    /// The request is over: it no longer counts as an exchange or a retry.
    @inline(__always)
    func endExchangeAccounting(client: Int) {
        leaveNode(client: client)
        if clients[client].attempts > 0 {
            exchanges.requestEnded(wasRetrying: clients[client].retrying)
            // Counted once: a later request on this connection starts from zero.
            clients[client].attempts = 0
        }
        clients[client].retrying = false
        if clients[client].retryPending {
            clients[client].retryPending = false
            if clients[client].retryBlock >= 0 { blocks.release(clients[client].retryBlock) }
            clients[client].retryBlock = -1
        }
    }

    /// Feeds passive health: what this exchange with `node` came to.
    @inline(__always)
    func recordOutcome(node: Int, _ outcome: NodeOutcome) {
        guard node >= 0 else { return }
        health.record(worker: index, node: node, outcome: outcome)
    }

    /// Success or failure of a response by the upstream's passive-check statuses; nil: not counted.
    @inline(__always)
    func responseOutcome(upstream: Int, status: Int) -> NodeOutcome? {
        plan.upstreams[upstream].classifier.outcome(status: status)
    }

    // MARK: - Retries

    /// Moves the client's request from failed upstream connection `slot` to another node if the
    /// upstream's retry policy, the request and the retry budget allow it. Returns false (touching
    /// nothing) when the failure should go to the client instead.
    func retryIfPossible(_ slot: Int, condition: ProxyPlan.RetryConditions) -> Bool {
        let client = Int(upstreamConnections[slot].client)
        guard client >= 0, !clients[client].responseStarted else { return false }
        let upstream = Int(upstreamConnections[slot].upstream)
        let entry = requestPlan(client).upstreams[upstream]
        // Bytes to send again: the whole request kept in a block, or a head the failed connect never sent.
        var block: Int32 = -1
        var length: Int32 = 0
        if upstreamConnections[slot].retainedBlock >= 0 {
            block = upstreamConnections[slot].retainedBlock
            length = upstreamConnections[slot].retainedLength
        } else if condition == .connectFailure && upstreamConnections[slot].outputSource == .block
            && !upstreamConnections[slot].outputBorrowed && upstreamConnections[slot].outputOffset == 0
        {
            block = upstreamConnections[slot].outputID
            length = upstreamConnections[slot].outputLength
        }
        let attempt = RetryDecision.Attempt(
            condition: condition,
            attempts: Int(clients[client].attempts),
            elapsed: now &- clients[client].firstAttemptStart,
            canResend: block >= 0,
            mayHaveReachedNode: upstreamConnections[slot].state != .connecting,
            idempotent: clients[client].method.isIdempotent,
            alreadyRetrying: clients[client].retrying
        )
        let tried = clients[client].triedNodes
        let decision = RetryDecision.decide(
            attempt,
            policy: entry,
            budget: exchanges,
            hasOtherNode: { picker.hasUntriedNode(upstream: upstream, tried: tried) },
            random: { picker.nextRandom() }
        )
        guard case .retry(let delay) = decision else {
            if decision == .giveUp(.budgetExhausted) { telemetry.recordRetryBudgetExhausted(upstream: upstream) }
            return false
        }

        detachRequest(slot, block: block)
        leaveNode(client: client, failure: condition.errorType)
        if !clients[client].retrying {
            clients[client].retrying = true
            exchanges.retryStarted()
        }
        telemetry.recordRetry(upstream: upstream, condition: condition)
        if delay < 1_000_000 {
            startRetryAttempt(client, block: block, length: length)
        } else {
            clients[client].retryPending = true
            clients[client].retryBlock = block
            clients[client].retryLength = length
            setDeadline(client: client, .retryBackoff, after: delay)
        }
        return true
    }

    /// Sends the kept request to the next node (after any backoff).
    func startRetryAttempt(_ client: Int, block: Int32, length: Int32) {
        clients[client].retryPending = false
        clients[client].retryBlock = -1
        // The route's upstream when the request started, even if a reload has moved the route since.
        let upstream = Int(requestPlan(client).routes[Int(clients[client].route)].upstream)
        let node = pickNode(client: client, upstream: upstream)
        guard node >= 0 else {
            blocks.release(block)
            respondWithError(client, status: 503, message: "no available node in upstream", upstream: upstream)
            return
        }
        beginUpstreamExchange(client: client, upstream: upstream, node: node, block: block, length: Int(length))
    }
}
