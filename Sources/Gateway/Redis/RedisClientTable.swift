import Glibc

/// A worker's Redis side as its rate-limit plugins see it: one ``RedisLink`` per endpoint in
/// ``RedisEndpointRegistry``, the permits leased with `redis.batch`, and the request the plugins run for.
///
/// Plugins queue calls here during their `access` phase (no I/O: bytes go into the link's buffer and a
/// waiter is added); the worker sends every link's queued bytes once per loop turn and hands each answer
/// back to the request that waits for it. Used by its worker's thread only.
package final class RedisClientTable {
    package let links: UnsafeMutablePointer<RedisLink>
    package let leases: RedisLeaseTable
    /// The client slot (and its generation) whose plugins run now.
    package var client: Int32 = -1
    package var clientGeneration: UInt32 = 0
    /// Links with bytes to send or a connect to start, one bit per endpoint index.
    package var flushMask: UInt32 = 0
    /// The link and timeout of the last call queued (the worker sets the request's deadline from it).
    package var lastLink = 0
    package var lastTimeout: UInt64 = 0
    /// Requests waiting for another request's lease call on the same key (``park(endpoint:lease:state:)``).
    package let parked: UnsafeMutablePointer<RedisParkedRequest>
    package var parkedCount = 0
    /// Parked requests being woken (taken out of ``parked`` before any of them runs).
    private let waking: UnsafeMutablePointer<RedisWaiter>
    /// Lease keys whose call settled this turn: their parked requests are woken at the end of the turn.
    package let settled: UnsafeMutablePointer<UInt64>
    package var settledCount = 0
    /// More keys settled than ``settled`` holds: wake every parked request (each looks again).
    package var settledOverflow = false
    private var nextToken: UInt32 = 1
    private let registry: RedisEndpointRegistry
    /// Where a counter key is composed before it is written ("gw:lc:<scope>:<key>").
    private let keyScratch: UnsafeMutableRawPointer

    /// Requests one worker may park on lease calls.
    package static let parkCapacity = 4096
    /// Lease keys one turn may settle before every parked request is woken instead.
    package static let settledCapacity = 64

    package init(registry: RedisEndpointRegistry = .process, leaseCapacity: Int = 4096) {
        self.registry = registry
        parked = .allocate(capacity: Self.parkCapacity)
        waking = .allocate(capacity: Self.parkCapacity)
        settled = .allocate(capacity: Self.settledCapacity)
        links = .allocate(capacity: RedisEndpointRegistry.capacity)
        links.initialize(repeating: RedisLink(), count: RedisEndpointRegistry.capacity)
        leases = RedisLeaseTable(capacity: leaseCapacity)
        keyScratch = .allocate(byteCount: 64, alignment: 8)
    }

    deinit {
        for index in 0..<RedisEndpointRegistry.capacity { links[index].freeBuffers() }
        links.deinitialize(count: RedisEndpointRegistry.capacity)
        links.deallocate()
        keyScratch.deallocate()
        parked.deallocate()
        waking.deallocate()
        settled.deallocate()
    }

    /// Whether the end of the worker's turn has Redis work: sends, connects, or parked requests to wake.
    @inline(__always)
    package var hasWork: Bool { flushMask != 0 || settledCount != 0 || settledOverflow }

    /// Makes the current request wait for the lease call another request made for `lease` on `endpoint`
    /// (``RedisLeaseTable/isPending(_:now:)``); false when too many wait already (the caller then calls
    /// for itself).
    @inline(__always)
    package func park(endpoint: Int, lease: UInt64, state: UnsafeMutablePointer<PluginRequestState>) -> Bool {
        guard client >= 0, parkedCount < Self.parkCapacity, endpoint >= 0, endpoint < RedisEndpointRegistry.capacity
        else { return false }
        let token = nextToken
        nextToken = nextToken &+ 1 == 0 ? 1 : nextToken &+ 1
        parked[parkedCount] = RedisParkedRequest(
            lease: lease,
            waiter: RedisWaiter(client: client, generation: clientGeneration, token: token)
        )
        parkedCount += 1
        state.pointee.redisToken = token
        state.pointee.redisStatus = RedisReply.waiting
        state.pointee.redisLink = RedisReply.parkedLink
        lastTimeout = max(links[endpoint].timeout, 1_000_000)
        return true
    }

    /// The lease call for `lease` settled (answered or failed): requests parked on it look again at the
    /// end of the turn.
    @inline(__always)
    package func settle(_ lease: UInt64) {
        leases.clearPending(lease)
        guard parkedCount > 0 else { return }
        if settledCount < Self.settledCapacity {
            settled[settledCount] = lease
            settledCount += 1
        } else {
            settledOverflow = true
        }
    }

    /// Takes the parked requests to wake now (those on settled keys), handing each to `wake`. They are
    /// taken out first: a woken request may park again (on a new call) or settle another key, which the
    /// next call handles.
    package func takeSettled(_ wake: (RedisWaiter) -> Void) {
        let all = settledOverflow
        let keys = settledCount
        settledOverflow = false
        var count = 0
        var index = 0
        while index < parkedCount {
            let entry = parked[index]
            var matches = all
            if !matches {
                for key in 0..<keys where settled[key] == entry.lease {
                    matches = true
                    break
                }
            }
            guard matches else {
                index += 1
                continue
            }
            parkedCount -= 1
            parked[index] = parked[parkedCount]
            waking[count] = entry.waiter
            count += 1
        }
        settledCount = 0
        for index in 0..<count { wake(waking[index]) }
    }

    /// Forgets a parked request that stopped waiting (its deadline passed).
    package func unpark(client slot: Int32) {
        var index = 0
        while index < parkedCount {
            if parked[index].waiter.client == slot {
                parkedCount -= 1
                parked[index] = parked[parkedCount]
            } else {
                index += 1
            }
        }
    }

    /// Queues `limit-count`'s script for the current request: take `cost` permits of `limit` in a window of
    /// `windowMilliseconds` from the counter of (`scope`, `key`). Nil when queued (the request waits for
    /// the answer), else why it could not be.
    @inline(__always)
    package func queueLimitCount(
        endpoint: Int,
        scope: UInt64,
        key: UInt64,
        limit: Int64,
        windowMilliseconds: Int64,
        cost: Int64,
        lease: UInt64,
        state: UnsafeMutablePointer<PluginRequestState>,
        now: UInt64
    ) -> RedisLimitPolicy.Failure? {
        queueScript(
            .limitCount,
            kind: UInt8(ascii: "c"),
            endpoint: endpoint,
            scope: scope,
            key: key,
            arguments: (limit, windowMilliseconds, cost),
            lease: lease,
            state: state,
            now: now
        )
    }

    /// Queues `limit-req`'s script for the current request: the bucket of (`scope`, `key`) draining at
    /// `rateMilli` thousandths of a request a second, up to `burstMilli` thousandths of excess.
    @inline(__always)
    package func queueLimitRequest(
        endpoint: Int,
        scope: UInt64,
        key: UInt64,
        rateMilli: Int64,
        burstMilli: Int64,
        state: UnsafeMutablePointer<PluginRequestState>,
        now: UInt64
    ) -> RedisLimitPolicy.Failure? {
        queueScript(
            .limitRequest,
            kind: UInt8(ascii: "r"),
            endpoint: endpoint,
            scope: scope,
            key: key,
            arguments: (rateMilli, burstMilli, nil),
            lease: 0,
            state: state,
            now: now
        )
    }

    /// `EVALSHA script 1 <counter key> arguments...` appended to the link's pending bytes, and the current
    /// request made to wait for its answer.
    @inline(__always)
    private func queueScript(
        _ script: RedisScript,
        kind: UInt8,
        endpoint: Int,
        scope: UInt64,
        key: UInt64,
        arguments: (Int64, Int64, Int64?),
        lease: UInt64,
        state: UnsafeMutablePointer<PluginRequestState>,
        now: UInt64
    ) -> RedisLimitPolicy.Failure? {
        if let failure = prepare(endpoint, now: now) { return failure }
        let link = links + endpoint
        var writer = RESPWriter(
            buffer: link.pointee.pending!,
            capacity: RedisLink.bufferCapacity,
            count: link.pointee.pendingCount
        )
        writer.beginCommand(argumentCount: arguments.2 == nil ? 6 : 7)
        writer.argument("EVALSHA")
        writer.argument(script.sha1)
        writer.argument("1")
        writer.argument(counterKey(kind: kind, scope: scope, key: key))
        writer.argument(decimal: arguments.0)
        writer.argument(decimal: arguments.1)
        if let third = arguments.2 { writer.argument(decimal: third) }
        return finish(writer, endpoint, lease: lease, state: state)
    }

    /// The link is usable (connecting it if it is idle or its backoff is over), or why not.
    @inline(__always)
    private func prepare(_ endpoint: Int, now: UInt64) -> RedisLimitPolicy.Failure? {
        guard endpoint >= 0, endpoint < RedisEndpointRegistry.capacity, client >= 0 else { return .unavailable }
        let link = links + endpoint
        switch link.pointee.state {
        case .ready, .connecting:
            return nil
        case .backoff where now < link.pointee.retryAt:
            return .unavailable
        case .idle, .backoff:
            return startConnecting(endpoint) ? nil : .unavailable
        }
    }

    /// Keeps the command `writer` wrote and makes the current request wait for its answer, or drops it.
    @inline(__always)
    private func finish(
        _ writer: RESPWriter,
        _ endpoint: Int,
        lease: UInt64,
        state: UnsafeMutablePointer<PluginRequestState>
    ) -> RedisLimitPolicy.Failure? {
        let link = links + endpoint
        guard !writer.overflowed else { return .overflow }
        let token = nextToken
        nextToken = nextToken &+ 1 == 0 ? 1 : nextToken &+ 1
        guard
            link.pointee.pushWaiter(
                RedisWaiter(client: client, generation: clientGeneration, token: token, lease: lease)
            )
        else {
            return .overflow
        }
        link.pointee.pendingCount = writer.count
        state.pointee.redisToken = token
        state.pointee.redisStatus = RedisReply.waiting
        state.pointee.redisLink = UInt8(endpoint)
        flushMask |= 1 << UInt32(endpoint)
        lastLink = endpoint
        lastTimeout = link.pointee.timeout
        return nil
    }

    /// Sets a link up to connect on the next flush, its set-up commands queued first (AUTH, SELECT and
    /// loading both scripts). Reading the registry takes its lock: once per connection, not per request.
    private func startConnecting(_ endpoint: Int) -> Bool {
        guard let (settings, address) = registry.endpoint(endpoint) else { return false }
        let link = links + endpoint
        link.pointee.allocateBuffers()
        link.pointee.pendingCount = 0
        link.pointee.inflightCount = 0
        link.pointee.inflightSent = 0
        link.pointee.receivedCount = 0
        link.pointee.timeout = settings.timeout
        link.pointee.family = address.family
        address.bytes.withUnsafeBytes { bytes in
            withUnsafeMutableBytes(of: &link.pointee.address) { storage in
                storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(storage.count)))
            }
        }
        link.pointee.addressLength = socklen_t(min(address.bytes.count, MemoryLayout<sockaddr_storage>.size))
        var writer = RESPWriter(buffer: link.pointee.pending!, capacity: RedisLink.bufferCapacity, count: 0)
        var commands = 2
        if let password = settings.password {
            if let username = settings.username {
                writer.beginCommand(argumentCount: 3)
                writer.argument("AUTH")
                Self.write(username, &writer)
            } else {
                writer.beginCommand(argumentCount: 2)
                writer.argument("AUTH")
            }
            Self.write(password, &writer)
            commands += 1
        }
        if settings.database != 0 {
            writer.beginCommand(argumentCount: 2)
            writer.argument("SELECT")
            writer.argument(decimal: Int64(settings.database))
            commands += 1
        }
        for script in [RedisScript.limitCount, RedisScript.limitRequest] {
            writer.beginCommand(argumentCount: 3)
            writer.argument("SCRIPT")
            writer.argument("LOAD")
            writer.argument(script.source)
        }
        link.pointee.pendingCount = writer.count
        for _ in 0..<commands {
            _ = link.pointee.pushWaiter(RedisWaiter(client: -1, generation: 0, token: 0))
        }
        link.pointee.state = .connecting
        link.pointee.connectWanted = true
        flushMask |= 1 << UInt32(endpoint)
        return true
    }

    private static func write(_ text: String, _ writer: inout RESPWriter) {
        var text = text
        text.withUTF8 { writer.argument(UnsafeRawBufferPointer($0)) }
    }

    /// "gw:l<kind>:<scope hex>:<key hex>" in the scratch buffer.
    @inline(__always)
    private func counterKey(kind: UInt8, scope: UInt64, key: UInt64) -> UnsafeRawBufferPointer {
        let bytes = keyScratch.assumingMemoryBound(to: UInt8.self)
        bytes[0] = UInt8(ascii: "g")
        bytes[1] = UInt8(ascii: "w")
        bytes[2] = UInt8(ascii: ":")
        bytes[3] = UInt8(ascii: "l")
        bytes[4] = kind
        bytes[5] = UInt8(ascii: ":")
        Self.hex(scope, into: bytes + 6)
        bytes[22] = UInt8(ascii: ":")
        Self.hex(key, into: bytes + 23)
        return UnsafeRawBufferPointer(start: keyScratch, count: 39)
    }

    @inline(__always)
    private static func hex(_ value: UInt64, into bytes: UnsafeMutablePointer<UInt8>) {
        for index in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - index * 4)) & 0xF
            bytes[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        }
    }
}
