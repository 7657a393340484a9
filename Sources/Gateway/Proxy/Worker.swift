import AccessLog
import CLiburing
import CNghttp2
import Glibc
import Synchronization
import Tracing

/// One data-plane thread: its own I/O executor, listener, connection slabs, buffers, pools and timers.
///
/// Generic over the executor (io_uring or epoll) so each is specialized into the worker with no
/// dynamic dispatch. Everything here is touched only by the worker's thread (hence
/// `@unchecked Sendable`, needed just to hand the object to that thread). The only shared state it
/// reads is the ``WorkerControl`` flags, the health board and the plan.
package final class Worker<IO: IOExecutor>: @unchecked Sendable {
    package let index: Int
    /// The plan requests start on; read without reference counting, kept alive by `planSlots`.
    /// A request in flight reads its own plan with ``requestPlan(_:)``.
    package unowned(unsafe) var plan: ProxyPlan
    /// The current plan and the older ones requests in flight started on.
    @exclusivity(unchecked) var planSlots: PlanSlots
    package let control: WorkerControl
    /// Where reloaded plans come from (nil: this worker keeps its first plan).
    let publisher: PlanPublisher?
    package let telemetry: WorkerTelemetry
    let health: NodeHealthBoard
    /// Balancers, half-open allowances, panic mode and per-node load.
    @exclusivity(unchecked) var picker: NodePicker
    /// Requests with upstream attempts under way, and how many are retries (the retry budget).
    @exclusivity(unchecked) var exchanges = ExchangeAccounting()
    let observability: GatewayObservability
    /// This worker's access-log ring (nil when logging is off); unmanaged so pushing costs no ARC.
    let accessRing: Unmanaged<AccessLogRing>?
    /// The access record of each client's current request, filled as the request goes.
    let records: UnsafeMutablePointer<AccessRecord>
    /// Each client's address in the access log's form: the peer's, set at accept, or for one request
    /// what `real-ip` found.
    let clientAddresses: UnsafeMutablePointer<ClientAddress>
    /// Each client connection's peer address (``clientAddresses`` goes back to it after each request).
    let peerAddresses: UnsafeMutablePointer<ClientAddress>
    /// The request plugins see; one per worker, pointed at the current request.
    let pluginRequest: PluginRequest
    /// What plugins decided about each client's current request.
    let pluginStates: UnsafeMutablePointer<PluginRequestState>
    /// Interned plugin names by registry kind, and consumer names by index in the current plan.
    let pluginSymbols: UnsafeMutablePointer<AccessLogSymbol>
    @exclusivity(unchecked) var consumerSymbols: [AccessLogSymbol] = []
    /// Interned route ids and node addresses, copied out of arrays so records are filled without ARC.
    let routeSymbols: UnsafeMutablePointer<AccessLogSymbol>
    let nodeSymbols: UnsafeMutablePointer<AccessLogSymbol>
    /// Interned error messages, keyed by the message's address.
    @exclusivity(unchecked) var errorSymbols: [UInt: AccessLogSymbol] = [:]
    let io: IO
    @exclusivity(unchecked) var blocks: BlockPool
    @exclusivity(unchecked) var smallBlocks: BlockPool
    let headers: HTTPHeaderIndex
    @exclusivity(unchecked) var timers: TimerWheel
    @exclusivity(unchecked) var requestIDs: RequestIDGenerator
    /// Trace and span ids.
    @exclusivity(unchecked) var traceIDs: TraceIDGenerator
    /// Each client's current request in its trace.
    let traceStates: UnsafeMutablePointer<TraceState>
    /// 32 bytes per client: the current trace id in hex, for error bodies.
    let traceIDBytes: UnsafeMutableRawPointer
    /// Each client's server span, filled as its sampled request goes.
    let serverSpans: UnsafeMutablePointer<SpanRecord>
    /// This worker's span ring (nil without an exporter); unmanaged so pushing costs no ARC.
    let spanRing: Unmanaged<SpanRing>?

    let clientCapacity: Int
    @exclusivity(unchecked) var clientSlots: SlotAllocator
    let clients: UnsafeMutablePointer<ClientConnection>
    /// 64 bytes per client: the request id of the current request.
    let requestIDBytes: UnsafeMutableRawPointer
    /// 48 bytes per client: the peer address as text, for X-Forwarded-For and logs.
    let clientAddressBytes: UnsafeMutableRawPointer

    let upstreamCapacity: Int
    @exclusivity(unchecked) var upstreamSlots: SlotAllocator
    let upstreamConnections: UnsafeMutablePointer<UpstreamConnection>

    /// Idle upstream connections parked per node.
    @exclusivity(unchecked) var pool: KeepAlivePool

    @exclusivity(unchecked) var listenFDs: [Int32]
    @exclusivity(unchecked) var now: UInt64 = 0
    @exclusivity(unchecked) var draining = false
    @exclusivity(unchecked) var drainDeadline: UInt64 = 0
    /// Clients whose receive hit ENOBUFS and must be re-posted on the next loop turn.
    @exclusivity(unchecked) var starvedReceives: [Int32] = []
    /// Each client's TLS layer (``TLSPhase/none`` on plain connections).
    let tlsStreams: UnsafeMutablePointer<TLSStream>
    /// Each upstream connection's TLS session (``TLSPhase/none`` towards plain `http` nodes).
    let upstreamTLS: UnsafeMutablePointer<TLSStream>
    /// Listening sockets whose connections start with a TLS handshake.
    let tlsListenFDs: [Int32]
    /// Traffic secrets captured during handshakes for kernel TLS, per client slot (allocated when a plan
    /// first selects kernel TLS).
    @exclusivity(unchecked) var kernelSecrets: UnsafeMutablePointer<KernelTLSSecrets>?
    /// Interned TLS protocol names by ``TLSProtocolLabel``, and cipher names by OpenSSL's name address.
    @exclusivity(unchecked) var tlsProtocolSymbols: [AccessLogSymbol] = [.none, .none, .none]
    @exclusivity(unchecked) var tlsCipherSymbols: [UInt: AccessLogSymbol] = [:]
    /// TLS clients holding records to open on this loop turn (slot | generation << 32).
    @exclusivity(unchecked) var tlsReady: [UInt64] = []
    /// Listening sockets whose connections may speak HTTP/2 (`http2: true`).
    let http2ListenFDs: [Int32]
    /// Each HTTP/2 connection's session, by client slot.
    let http2Connections: UnsafeMutablePointer<HTTP2Connection>
    /// Each `grpc`/`grpcs` upstream connection's HTTP/2 layer, by upstream slot.
    let upstreamH2: UnsafeMutablePointer<HTTP2UpstreamState>
    /// The HTTP/2 session slot that takes new streams to each node of a `grpc`/`grpcs` upstream (-1: none).
    let http2NodeSessions: UnsafeMutablePointer<Int32>
    /// Each HTTP/2 stream's state, by the client slot serving it.
    let http2Streams: UnsafeMutablePointer<HTTP2StreamState>
    /// The worker as nghttp2's callbacks see it (made with the first HTTP/2 connection).
    var http2Box: HTTP2HandlerBox?
    /// Stream deliveries, send completions and connection flushes queued during nghttp2 callbacks.
    @exclusivity(unchecked) var http2Ready: [UInt64] = []
    /// Scratch for reading a stream's response head into HTTP/2 fields (kept apart from `headers`,
    /// which the request side may still be using).
    let http2Headers: HTTPHeaderIndex
    let http2Fields: UnsafeMutablePointer<nghttp2_nv>
    let http2FieldCapacity: Int
    let http2Scratch: UnsafeMutableRawPointer
    /// Connections to the Redis servers of rate limits with `policy: redis`, and their leases.
    let redis: RedisClientTable
    /// The first timer slot of the Redis connections (after every client's and upstream's).
    var redisTimerBase: Int { clientCapacity + upstreamCapacity }

    /// Creates the worker's executor and memory on the calling thread; call ``run()`` on the same thread.
    ///
    /// Tests pass their own `executor` and a manual clock (`now`) and drive the worker with
    /// ``start()`` and ``turn(now:)`` instead of ``run()``.
    package init(
        index: Int,
        plan: ProxyPlan,
        control: WorkerControl,
        observability: GatewayObservability,
        health: NodeHealthBoard,
        listeners: [Int32],
        publisher: PlanPublisher? = nil,
        executor: IO? = nil,
        now start: UInt64? = nil
    ) throws(EngineError) {
        self.publisher = publisher
        self.health = health
        picker = NodePicker(
            plan: plan,
            health: health,
            seed: 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xBF58_476D_1CE4_E5B9 ^ gw_monotonic_ns()
        )
        self.index = index
        self.plan = plan
        planSlots = PlanSlots(plan)
        self.control = control
        self.observability = observability
        do {
            telemetry = try WorkerTelemetry(metrics: observability.metrics, plan: plan, worker: index)
        } catch {
            throw EngineError(code: .resources, message: "worker \(index): cannot set up metrics: \(error)")
        }
        accessRing = observability.accessLogger.map { Unmanaged.passRetained($0.makeRing()) }
        if let executor {
            io = executor
        } else {
            io = try IO(entries: 1024, bufferCount: 512, bufferSize: 16384)
        }
        blocks = BlockPool(blockSize: plan.httpLimits.maxHeaderBytes + 16384)
        smallBlocks = BlockPool(blockSize: 4096, blocksPerChunk: 256)
        headers = HTTPHeaderIndex(capacity: max(128, plan.httpLimits.maxHeaderCount + 1))
        clientCapacity = max(16, plan.config.limits.maxConnectionsPerWorker)
        upstreamCapacity = clientCapacity
        now = start ?? gw_monotonic_ns()
        timers = TimerWheel(capacity: clientCapacity + upstreamCapacity + RedisEndpointRegistry.capacity, now: now)
        requestIDs = RequestIDGenerator(worker: index)
        traceIDs = TraceIDGenerator(salt: UInt64(index))
        spanRing = observability.spanExporter.map { Unmanaged.passRetained($0.makeRing()) }
        clientSlots = SlotAllocator(capacity: clientCapacity)
        clients = zeroed(clientCapacity)
        records = zeroed(clientCapacity)
        clientAddresses = zeroed(clientCapacity)
        peerAddresses = zeroed(clientCapacity)
        // Zeroed (untouched until used): `active` is false, and nothing else is read until a request
        // with plugins sets the state up.
        pluginStates = zeroed(clientCapacity)
        pluginRequest = PluginRequest(
            worker: index,
            headers: headers,
            consumers: plan.plugins.consumers,
            telemetry: telemetry
        )
        redis = RedisClientTable()
        pluginRequest.redis = redis
        pluginSymbols = zeroed(PluginRegistry.builtins.count)
        if let logger = observability.accessLogger {
            for (kind, descriptor) in PluginRegistry.builtins.enumerated() {
                pluginSymbols[kind] = (try? logger.register(descriptor.name)) ?? .none
            }
            consumerSymbols = plan.plugins.consumers.names.map { (try? logger.register($0)) ?? .none }
        }
        routeSymbols = zeroed(plan.routeCapacity + 1)
        nodeSymbols = zeroed(plan.nodeCapacity)
        for route in 0..<plan.routeCount {
            routeSymbols[route] = route < observability.routeSymbols.count ? observability.routeSymbols[route] : .none
        }
        // The unmatched-route symbol sits after every route index.
        routeSymbols[plan.routeCapacity] = observability.routeSymbols.last ?? .none
        for node in 0..<plan.nodeCount {
            nodeSymbols[node] = node < observability.nodeSymbols.count ? observability.nodeSymbols[node] : .none
        }
        requestIDBytes = UnsafeMutableRawPointer(zeroed(clientCapacity * 64) as UnsafeMutablePointer<UInt8>)
        clientAddressBytes = UnsafeMutableRawPointer(zeroed(clientCapacity * 48) as UnsafeMutablePointer<UInt8>)
        traceStates = zeroed(clientCapacity)
        traceIDBytes = UnsafeMutableRawPointer(zeroed(clientCapacity * 32) as UnsafeMutablePointer<UInt8>)
        serverSpans = zeroed(clientCapacity)
        upstreamSlots = SlotAllocator(capacity: upstreamCapacity)
        upstreamConnections = zeroed(upstreamCapacity)
        pool = KeepAlivePool(nodeCount: plan.nodeCapacity, slotCapacity: upstreamCapacity)
        listenFDs = listeners
        // Listeners come in the order of `listen`, a process-level key a reload cannot change.
        tlsListenFDs = zip(listeners, plan.config.listen).filter { $0.1.tls }.map(\.0)
        tlsStreams = zeroed(clientCapacity)
        upstreamTLS = zeroed(upstreamCapacity)
        http2ListenFDs = zip(listeners, plan.config.listen).filter { $0.1.http2 }.map(\.0)
        // Zeroed, so untouched pages cost nothing: an entry is set up whole when its slot first needs it
        // (zero reads as "not HTTP/2": no session, not live, no stream).
        http2Connections = zeroed(clientCapacity)
        http2NodeSessions = .allocate(capacity: max(1, plan.nodeCapacity))
        http2NodeSessions.initialize(repeating: -1, count: max(1, plan.nodeCapacity))
        upstreamH2 = zeroed(upstreamCapacity)
        http2Streams = zeroed(clientCapacity)
        http2Headers = HTTPHeaderIndex(capacity: max(128, plan.httpLimits.maxHeaderCount + 1))
        http2FieldCapacity = max(128, plan.httpLimits.maxHeaderCount + 1)
        http2Fields = .allocate(capacity: http2FieldCapacity)
        http2Scratch = .allocate(byteCount: blocks.blockSize, alignment: 8)
        starvedReceives.reserveCapacity(1024)
        tlsReady.reserveCapacity(1024)
    }

    deinit {
        accessRing?.release()
        spanRing?.release()
        for pointer in [
            UnsafeMutableRawPointer(records), UnsafeMutableRawPointer(clientAddresses),
            UnsafeMutableRawPointer(peerAddresses), UnsafeMutableRawPointer(pluginSymbols), requestIDBytes,
            clientAddressBytes, UnsafeMutableRawPointer(clients), UnsafeMutableRawPointer(upstreamConnections),
            UnsafeMutableRawPointer(traceStates), traceIDBytes, UnsafeMutableRawPointer(serverSpans),
        ] {
            free(pointer)
        }
        free(routeSymbols)
        free(nodeSymbols)
        free(pluginStates)
        for slot in 0..<clientCapacity where tlsStreams[slot].phase != .none { tlsStreams[slot].close() }
        free(tlsStreams)
        if let kernelSecrets { free(kernelSecrets) }
        for slot in 0..<upstreamCapacity where upstreamTLS[slot].phase != .none { upstreamTLS[slot].close() }
        free(upstreamTLS)
        for slot in 0..<clientCapacity {
            if let session = http2Connections[slot].session { nghttp2_session_del(session) }
        }
        free(http2Connections)
        for slot in 0..<upstreamCapacity {
            if let session = upstreamH2[slot].context.session { nghttp2_session_del(session) }
        }
        http2NodeSessions.deallocate()
        free(upstreamH2)
        free(http2Streams)
        http2Fields.deallocate()
        http2Scratch.deallocate()
    }

    /// Runs the event loop until shutdown completes.
    package func run() {
        start()
        while true {
            io.submitAndWait(timeoutNanoseconds: 10_000_000)
            if turn(now: gw_monotonic_ns()) { break }
        }
        finish()
    }

    /// Starts accepting on the worker's listeners.
    package func start() {
        for fd in listenFDs { io.multishotAccept(fd: fd, userData: UserData.accept | UInt64(UInt32(bitPattern: fd))) }
        control.markRunning(worker: index)
    }

    /// One loop turn at time `now`: every completion the executor has, starved receives, buffer
    /// returns, expired deadlines, and the drain. Returns true once the worker has drained.
    @discardableResult
    package func turn(now: UInt64) -> Bool {
        self.now = now
        adoptPublishedPlan()
        io.drainCompletions { userData, result, flags in
            self.dispatch(userData, result, flags)
        }
        if !tlsReady.isEmpty { runTLSReady() }
        if !http2Ready.isEmpty { runHTTP2Ready() }
        if !starvedReceives.isEmpty { retryStarvedReceives() }
        io.publishBuffers()
        while let slot = timers.nextExpired(now: now) { timerExpired(slot) }
        // Every Redis call of this turn leaves in one write per connection.
        if redis.hasWork { finishRedisTurn() }
        if !draining && control.isDraining { beginDrain() }
        return draining && (clientSlots.live == 0 || now >= drainDeadline)
    }

    /// Closes what is left and marks the worker stopped.
    package func finish() {
        shutdownConnections()
        control.markStopped(worker: index)
    }

    @inline(__always)
    func dispatch(_ userData: UInt64, _ result: Int32, _ flags: UInt32) {
        switch UserData.kind(userData) {
        case .accept: onAccept(listener: Int32(bitPattern: UserData.slot(userData)), result: result, flags: flags)
        case .clientReceive:
            let slot = Int(UserData.slot(userData))
            guard clients[slot].generation == UserData.generation(userData), clients[slot].state != .closed else {
                recycleStale(result: result, flags: flags)
                return
            }
            if tlsStreams[slot].phase.inUserspace {
                onTLSReceive(slot, result, flags)
            } else {
                onClientReceive(slot, result, flags)
            }
        case .clientSend:
            let slot = Int(UserData.slot(userData))
            guard clients[slot].generation == UserData.generation(userData), clients[slot].state != .closed else {
                return
            }
            if tlsStreams[slot].phase.inUserspace {
                onTLSSend(slot, result)
            } else {
                onClientSend(slot, result)
            }
        case .upstreamConnect:
            let slot = Int(UserData.slot(userData))
            guard upstreamConnections[slot].generation == UserData.generation(userData),
                upstreamConnections[slot].state != .closed
            else { return }
            if let context = plan.upstreamTLS[Int(upstreamConnections[slot].upstream)] {
                onUpstreamTLSConnect(slot, result, context)
            } else {
                onUpstreamConnect(slot, result)
            }
        case .upstreamReceive:
            let slot = Int(UserData.slot(userData))
            guard upstreamConnections[slot].generation == UserData.generation(userData),
                upstreamConnections[slot].state != .closed
            else {
                recycleStale(result: result, flags: flags)
                return
            }
            if upstreamH2[slot].active {
                onUpstreamH2Receive(slot, result, flags)
                return
            }
            // A pooled connection's receive only tells that the node spoke or closed: no TLS needed.
            if upstreamTLS[slot].phase != .none && upstreamConnections[slot].state != .pooled {
                onUpstreamTLSReceive(slot, result, flags)
            } else {
                onUpstreamReceive(slot, result, flags)
            }
        case .upstreamSend:
            let slot = Int(UserData.slot(userData))
            guard upstreamConnections[slot].generation == UserData.generation(userData),
                upstreamConnections[slot].state != .closed
            else { return }
            if upstreamH2[slot].active && upstreamTLS[slot].phase == .none {
                onUpstreamH2Send(slot, result)
            } else if upstreamTLS[slot].phase != .none {
                onUpstreamTLSSend(slot, result)
            } else {
                onUpstreamSend(slot, result)
            }
        case .redisConnect: onRedisConnect(Int(UserData.slot(userData)), UserData.generation(userData), result)
        case .redisReceive: onRedisReceive(Int(UserData.slot(userData)), UserData.generation(userData), result)
        case .redisSend: onRedisSend(Int(UserData.slot(userData)), UserData.generation(userData), result)
        case .ignored:
            recycleStale(result: result, flags: flags)
        }
    }

    /// A receive completed for a connection that is gone: give its buffer back.
    @inline(__always)
    func recycleStale(result: Int32, flags: UInt32) {
        if flags & IOCompletion.buffer != 0 {
            io.recycleBuffer(UInt16(truncatingIfNeeded: flags >> 16))
        }
    }

    // MARK: - Accept

    func onAccept(listener: Int32, result: Int32, flags: UInt32) {
        if flags & IOCompletion.more == 0 && !draining {
            // The kernel ended the multishot accept (error or overflow): post it again.
            io.multishotAccept(fd: listener, userData: UserData.accept | UInt64(UInt32(bitPattern: listener)))
        }
        guard result >= 0 else { return }
        let fd = result
        if draining {
            io.close(fd: fd)
            return
        }
        guard let (slot, fresh) = clientSlots.allocate() else {
            // Over max_connections: shed the connection rather than queue it.
            io.close(fd: fd)
            return
        }
        resetClientSlot(slot, fresh: fresh)
        clients[slot].fd = fd
        let addressArea = UnsafeMutableRawBufferPointer(start: clientAddressBytes + slot * 48, count: 48)
        if let peer = io.peerAddress(of: fd) {
            clients[slot].clientAddressLength = UInt8(peer.writeHost(into: addressArea))
            clientAddresses[slot] = Self.logAddress(peer)
        } else {
            clientAddresses[slot] = ClientAddress()
        }
        peerAddresses[slot] = clientAddresses[slot]
        clients[slot].http2Allowed = !http2ListenFDs.isEmpty && http2ListenFDs.contains(listener)
        control.connectionOpened(worker: index)
        telemetry.recordConnection(opened: true)
        if !tlsListenFDs.isEmpty && tlsListenFDs.contains(listener) {
            guard startTLS(slot) else {
                closeClient(slot)
                return
            }
            setDeadline(client: slot, .tlsHandshake, after: plan.tlsHandshakeTimeout)
        } else {
            setDeadline(client: slot, .header, after: plan.headerTimeout)
        }
        postClientReceive(slot)
    }

    /// Starts a new life for client `slot`: a blank idle connection with the next generation, so
    /// completions and queued work of its previous user are recognised as stale.
    func resetClientSlot(_ slot: Int, fresh: Bool) {
        let generation: UInt32
        if fresh {
            clients.advanced(by: slot).initialize(to: ClientConnection())
            generation = 1
        } else {
            generation = (clients[slot].generation &+ 1) & 0xFF_FFFF
            // Every close completes its request first; should one ever not, its plan must not stay held.
            if clients[slot].holdsPlan { planSlots.leave(clients[slot].planSlot) }
            clients[slot] = ClientConnection()
        }
        clients[slot].generation = generation
        clients[slot].state = .idle
    }

    // MARK: - Drain and shutdown

    func beginDrain() {
        draining = true
        drainDeadline = now &+ plan.drainTimeout
        for fd in listenFDs {
            io.cancel(fd: fd)
            io.close(fd: fd)
        }
        listenFDs.removeAll()
        // Idle keep-alive connections close now; busy ones close after their current response.
        for slot in 0..<clientSlots.highWater where clients[slot].state != .closed {
            if clients[slot].state == .http2 {
                http2BeginDrain(slot)
            } else if isIdle(slot) && !http2Streams[slot].live {
                closeClient(slot)
            } else {
                clients[slot].closeAfter = true
            }
        }
    }

    /// Waiting for the first byte of a next request, holding nothing.
    @inline(__always)
    func isIdle(_ slot: Int) -> Bool {
        clients[slot].state == .idle && !clients[slot].sending
    }

    func shutdownConnections() {
        closeTunnelsAtDrainEnd()
        // HTTP/2 connections first: each closes its streams' slots with it.
        for slot in 0..<clientSlots.highWater where clients[slot].state == .http2 { closeClient(slot) }
        for slot in 0..<clientSlots.highWater where clients[slot].state != .closed { closeClient(slot) }
        for slot in 0..<upstreamSlots.highWater where upstreamConnections[slot].state != .closed {
            closeUpstream(slot)
        }
        closeRedisLinks()
        io.submit()
    }
}
