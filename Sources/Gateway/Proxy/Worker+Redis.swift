import Glibc

/// The worker's side of its Redis connections (``RedisClientTable``): connecting, sending each loop
/// turn's calls in one write, reading answers and handing each to the request that waits for it.
///
/// A connection that fails (refused, closed, a protocol error, an answer later than `timeout`) is closed,
/// every request waiting on it goes on as failed (its plugin follows `redis.on_error`), and calls fail at
/// once until a backoff (100 ms, doubling to 2 s) has passed; the next call then connects again.
extension Worker {
    /// Wakes requests parked on lease calls that settled this turn, then sends what the turn queued.
    func finishRedisTurn() {
        while redis.settledCount != 0 || redis.settledOverflow {
            redis.takeSettled { waiter in
                wakeRedisWaiter(waiter, status: RedisReply.retrying, values: (0, 0))
            }
        }
        if redis.flushMask != 0 { flushRedis() }
    }

    /// Starts connects and sends for every link with work queued this turn.
    func flushRedis() {
        var mask = redis.flushMask
        redis.flushMask = 0
        while mask != 0 {
            let link = mask.trailingZeroBitCount
            mask &= mask &- 1
            flushRedisLink(link)
        }
    }

    private func flushRedisLink(_ index: Int) {
        let link = redis.links + index
        if link.pointee.connectWanted {
            link.pointee.connectWanted = false
            connectRedisLink(index)
            return
        }
        guard link.pointee.state == .ready, !link.pointee.sending, link.pointee.pendingCount > 0 else { return }
        swap(&link.pointee.pending, &link.pointee.inflight)
        link.pointee.inflightCount = link.pointee.pendingCount
        link.pointee.inflightSent = 0
        link.pointee.pendingCount = 0
        link.pointee.sending = true
        io.send(
            fd: link.pointee.fd,
            buffer: link.pointee.inflight!,
            count: link.pointee.inflightCount,
            userData: UserData.make(.redisSend, slot: UInt32(index), generation: link.pointee.generation)
        )
    }

    private func connectRedisLink(_ index: Int) {
        let link = redis.links + index
        let fd = io.openSocket(family: link.pointee.family)
        guard fd >= 0 else {
            failRedisLink(index, .unavailable)
            return
        }
        link.pointee.fd = fd
        link.pointee.generation = (link.pointee.generation &+ 1) & 0xFF_FFFF
        let address = (UnsafeMutableRawPointer(link) + MemoryLayout<RedisLink>.offset(of: \.address)!)
            .assumingMemoryBound(to: sockaddr.self)
        io.connect(
            fd: fd,
            address: address,
            length: link.pointee.addressLength,
            userData: UserData.make(.redisConnect, slot: UInt32(index), generation: link.pointee.generation)
        )
        timers.schedule(redisTimerBase + index, at: now &+ link.pointee.timeout)
    }

    func onRedisConnect(_ index: Int, _ generation: UInt32, _ result: Int32) {
        guard index < RedisEndpointRegistry.capacity else { return }
        let link = redis.links + index
        guard link.pointee.generation == generation, link.pointee.state == .connecting, link.pointee.fd >= 0 else {
            return
        }
        timers.cancel(redisTimerBase + index)
        guard result >= 0 else {
            failRedisLink(index, .unavailable)
            return
        }
        link.pointee.state = .ready
        postRedisReceive(index)
        flushRedisLink(index)
    }

    func onRedisSend(_ index: Int, _ generation: UInt32, _ result: Int32) {
        guard index < RedisEndpointRegistry.capacity else { return }
        let link = redis.links + index
        guard link.pointee.generation == generation, link.pointee.sending, link.pointee.fd >= 0 else { return }
        guard result > 0 else {
            failRedisLink(index, .unavailable)
            return
        }
        link.pointee.inflightSent += Int(result)
        if link.pointee.inflightSent < link.pointee.inflightCount {
            io.send(
                fd: link.pointee.fd,
                buffer: link.pointee.inflight! + link.pointee.inflightSent,
                count: link.pointee.inflightCount - link.pointee.inflightSent,
                userData: UserData.make(.redisSend, slot: UInt32(index), generation: generation)
            )
            return
        }
        link.pointee.sending = false
        link.pointee.inflightCount = 0
        if link.pointee.pendingCount > 0 { flushRedisLink(index) }
    }

    private func postRedisReceive(_ index: Int) {
        let link = redis.links + index
        link.pointee.receiving = true
        io.receive(
            fd: link.pointee.fd,
            into: link.pointee.received! + link.pointee.receivedCount,
            count: RedisLink.receiveCapacity - link.pointee.receivedCount,
            userData: UserData.make(.redisReceive, slot: UInt32(index), generation: link.pointee.generation)
        )
    }

    func onRedisReceive(_ index: Int, _ generation: UInt32, _ result: Int32) {
        guard index < RedisEndpointRegistry.capacity else { return }
        let link = redis.links + index
        guard link.pointee.generation == generation, link.pointee.receiving, link.pointee.fd >= 0 else { return }
        link.pointee.receiving = false
        guard result > 0 else {
            failRedisLink(index, .unavailable)
            return
        }
        link.pointee.receivedCount += Int(result)
        var offset = 0
        while offset < link.pointee.receivedCount {
            let bytes = UnsafeRawBufferPointer(
                start: link.pointee.received! + offset,
                count: link.pointee.receivedCount - offset
            )
            guard let (reply, consumed) = RESPParser.parse(bytes) else { break }
            guard consumed > 0 else {
                failRedisLink(index, .reply)
                return
            }
            offset += consumed
            // Handing an answer over runs the request on: it may queue calls here, never close the link.
            guard deliverRedisReply(index, reply) else { return }
        }
        let left = link.pointee.receivedCount - offset
        if offset > 0 && left > 0 { memmove(link.pointee.received!, link.pointee.received! + offset, left) }
        link.pointee.receivedCount = left
        guard left < RedisLink.receiveCapacity else {
            // An answer larger than the buffer is nothing the gateway's scripts send.
            failRedisLink(index, .reply)
            return
        }
        postRedisReceive(index)
    }

    /// Gives `reply` to the request at the head of the link's queue; false when the link failed instead.
    private func deliverRedisReply(_ index: Int, _ reply: RESPReply) -> Bool {
        let link = redis.links + index
        guard let waiter = link.pointee.popWaiter() else {
            failRedisLink(index, .reply)
            return false
        }
        if waiter.client < 0 {
            // AUTH, SELECT, SCRIPT LOAD: a refusal (a wrong password, say) makes the connection useless.
            if case .error = reply {
                failRedisLink(index, .reply)
                return false
            }
            link.pointee.backoff = 0
            return true
        }
        switch reply {
        case .integers(let count, let first, let second, _) where count >= 2:
            wakeRedisWaiter(waiter, status: RedisReply.answered, values: (first, second))
        case .error(.noScript):
            // The scripts were flushed: reconnecting loads them again.
            wakeRedisWaiter(waiter, status: RedisReply.status(.reply), values: (0, 0))
            failRedisLink(index, .reply)
            return false
        default:
            wakeRedisWaiter(waiter, status: RedisReply.status(.reply), values: (0, 0))
        }
        return true
    }

    /// Hands an answer to the request that waits for it, if it still does, and runs it on. When it no
    /// longer waits and it was a lease call, the requests parked on that lease are woken instead.
    private func wakeRedisWaiter(_ waiter: RedisWaiter, status: UInt8, values: (Int64, Int64)) {
        let slot = Int(waiter.client)
        let state = pluginStates + slot
        guard slot >= 0, slot < clientCapacity, clients[slot].generation == waiter.generation,
            clients[slot].state != .closed, clients[slot].deadline == .backendWait, state.pointee.active,
            state.pointee.redisToken == waiter.token
        else {
            if waiter.lease != 0 { redis.settle(waiter.lease) }
            return
        }
        state.pointee.redisToken = 0
        state.pointee.redisStatus = status
        state.pointee.redisValues = values
        clearDeadline(client: slot)
        resumeDelayedRequest(slot)
    }

    /// A request's wait for Redis ran out: its connection is given up (later answers on it would be
    /// late for every request queued behind), and the request goes on as failed.
    func redisWaitExpired(_ slot: Int) {
        let state = pluginStates + slot
        let index = Int(state.pointee.redisLink)
        state.pointee.redisToken = 0
        state.pointee.redisStatus = RedisReply.status(.timeout)
        if state.pointee.redisLink == RedisReply.parkedLink {
            // It waited on another request's lease call, not on an answer of its own.
            redis.unpark(client: Int32(slot))
        } else if index < RedisEndpointRegistry.capacity {
            let linkState = redis.links[index].state
            if linkState == .ready || linkState == .connecting { failRedisLink(index, .timeout) }
        }
        resumeDelayedRequest(slot)
    }

    /// A connect did not complete within the endpoint's timeout.
    func redisTimerExpired(_ index: Int) {
        guard index < RedisEndpointRegistry.capacity, redis.links[index].state == .connecting else { return }
        failRedisLink(index, .unavailable)
    }

    /// Closes the link, waits out a backoff before the next connect, and runs every waiting request on
    /// as failed with `failure`.
    func failRedisLink(_ index: Int, _ failure: RedisLimitPolicy.Failure) {
        let link = redis.links + index
        if link.pointee.fd >= 0 {
            io.cancel(fd: link.pointee.fd)
            io.close(fd: link.pointee.fd)
            link.pointee.fd = -1
        }
        link.pointee.generation = (link.pointee.generation &+ 1) & 0xFF_FFFF
        link.pointee.state = .backoff
        link.pointee.connectWanted = false
        link.pointee.sending = false
        link.pointee.receiving = false
        link.pointee.pendingCount = 0
        link.pointee.inflightCount = 0
        link.pointee.inflightSent = 0
        link.pointee.receivedCount = 0
        let backoff = link.pointee.backoff
        link.pointee.backoff = backoff == 0 ? RedisLink.firstBackoff : min(backoff &* 2, RedisLink.maximumBackoff)
        link.pointee.retryAt = now &+ link.pointee.backoff
        timers.cancel(redisTimerBase + index)
        // The link is in backoff first, so requests woken here that call again fail at once.
        while let waiter = link.pointee.popWaiter() {
            if waiter.client >= 0 { wakeRedisWaiter(waiter, status: RedisReply.status(failure), values: (0, 0)) }
        }
    }

    /// Closes every Redis connection (shutdown).
    func closeRedisLinks() {
        for index in 0..<RedisEndpointRegistry.capacity where redis.links[index].fd >= 0 {
            io.close(fd: redis.links[index].fd)
            redis.links[index].fd = -1
            redis.links[index].state = .idle
        }
    }
}
