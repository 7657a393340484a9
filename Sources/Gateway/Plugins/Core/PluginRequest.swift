import AccessLog

/// The request as plugins see it during a phase, and where they record what they decide.
///
/// One per worker, pointed at the current request before each phase. Reading the request (headers,
/// query, cookies) returns views into the request's own bytes, valid during `rewrite` and `access`
/// only; changes are recorded as ``PluginEdits`` in a block taken on the first change, so a request
/// no plugin changes costs nothing. Nothing here allocates.
package final class PluginRequest {
    /// Bytes an edit area holds; a request whose plugins ask for more gets a 500.
    package static let editCapacity = 4096

    /// The worker running the request (for per-worker metric shards).
    package let worker: Int
    var editPool: BlockPool
    /// The current request's persistent state.
    package internal(set) var state: UnsafeMutablePointer<PluginRequestState>
    /// Where ``state`` points between requests.
    private let detached: UnsafeMutablePointer<PluginRequestState>

    /// The parsed request head and the bytes it indexes (valid in `rewrite` and `access`).
    package internal(set) var source = UnsafeRawBufferPointer(start: nil, count: 0)
    package internal(set) var head: HTTPRequestHead?
    unowned(unsafe) let headers: HTTPHeaderIndex
    /// Monotonic clock, nanoseconds.
    package internal(set) var now: UInt64 = 0
    /// Wall clock, seconds since the Unix epoch (token expiry).
    package internal(set) var unixTime: Int64 = 0
    /// The matched route's index in the plan.
    package internal(set) var route: Int32 = -1
    /// The status sent (or about to be sent) to the client: set for `header_filter` and `log`.
    package internal(set) var status: Int = 0
    /// The upstream's status, 0 when there was none.
    package internal(set) var upstreamStatus: Int = 0
    /// The TCP peer (the client address before `real-ip`).
    package internal(set) var peerAddress = ClientAddress()
    /// The request id the gateway sends upstream and back.
    package internal(set) var requestID = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Whether the client connection is TLS.
    package var isTLS = false
    /// The verified client certificate's subject in RFC 2253 form (the access log's
    /// `tls_client_subject`), empty on a plain connection or one without a verified certificate. Set by
    /// the worker for every request, like ``isTLS``; valid in `rewrite` and `access`.
    package var clientSubject = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Scratch bytes a plugin may use during one call (decoding a credential); not kept between calls.
    package let scratch: UnsafeMutableRawBufferPointer
    /// The consumers of the plan the request runs on.
    package internal(set) unowned(unsafe) var consumers: ConsumerTable

    /// The worker's metrics (nil in unit tests without a registry): where ``PluginCounter`` records.
    package let telemetry: WorkerTelemetry?

    /// The worker's Redis connections (nil in unit tests): where the `redis` policy queues its calls.
    package unowned(unsafe) var redis: RedisClientTable?

    package init(worker: Int, headers: HTTPHeaderIndex, consumers: ConsumerTable, telemetry: WorkerTelemetry? = nil) {
        self.worker = worker
        self.telemetry = telemetry
        self.headers = headers
        self.consumers = consumers
        editPool = BlockPool(blockSize: Self.editCapacity, blocksPerChunk: 32)
        scratch = .allocate(byteCount: 16384, alignment: 16)
        detached = .allocate(capacity: 1)
        detached.initialize(to: PluginRequestState())
        state = detached
    }

    deinit {
        scratch.deallocate()
        detached.deallocate()
    }

    // MARK: - Reading the request

    /// The request method.
    @inline(__always)
    package var method: HTTPMethod { head?.method ?? .get }

    /// The path without the query.
    @inline(__always)
    package var path: UnsafeRawBufferPointer {
        guard let head else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: source[head.pathRange])
    }

    /// The query without its `?`, or nil.
    @inline(__always)
    package var query: UnsafeRawBufferPointer? {
        guard let range = head?.queryRange else { return nil }
        return UnsafeRawBufferPointer(rebasing: source[range])
    }

    /// The Host (or absolute-form authority), or nil.
    @inline(__always)
    package var host: UnsafeRawBufferPointer? {
        guard let range = head?.host else { return nil }
        return UnsafeRawBufferPointer(rebasing: source[range])
    }

    /// The first value of the header named by a lower-case literal, or nil.
    @inline(__always)
    package func header(_ lowercaseName: StaticString) -> UnsafeRawBufferPointer? {
        guard head != nil, let index = headers.first(named: lowercaseName, in: source) else { return nil }
        return UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
    }

    /// The first value of the header named `name` (any case), or nil.
    package func header(named name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard head != nil else { return nil }
        var index = 0
        while index < headers.count {
            if HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: source[headers.name(index)]), name) {
                return UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
            }
            index &+= 1
        }
        return nil
    }

    /// Calls `body` with every value of the header named `name` (any case), in order.
    package func forEachHeader(named name: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard head != nil else { return }
        var index = 0
        while index < headers.count {
            if HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: source[headers.name(index)]), name) {
                body(UnsafeRawBufferPointer(rebasing: source[headers.value(index)]))
            }
            index &+= 1
        }
    }

    /// The raw (still percent-encoded) value of the first query argument named `name`, or nil. An
    /// argument without `=` has an empty value.
    package func queryArgument(named name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let query else { return nil }
        var found: UnsafeRawBufferPointer?
        Self.forEachPair(query, separator: UInt8(ascii: "&")) { key, value in
            if found == nil && key.elementsEqual(name) { found = value }
        }
        return found
    }

    /// The value of the first cookie named `name` in the Cookie headers, or nil.
    package func cookie(named name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard head != nil else { return nil }
        var found: UnsafeRawBufferPointer?
        var index = 0
        while index < headers.count && found == nil {
            if HTTPBytes.equalsIgnoringCase(source, headers.name(index), "cookie") {
                let value = UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
                Self.forEachPair(value, separator: UInt8(ascii: ";")) { key, value in
                    if found == nil && key.elementsEqual(name) { found = value }
                }
            }
            index &+= 1
        }
        return found
    }

    /// Splits `text` at `separator` into `key=value` pairs, trimming spaces around each pair.
    @inline(__always)
    static func forEachPair(
        _ text: UnsafeRawBufferPointer,
        separator: UInt8,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        while start <= text.count {
            var end = start
            while end < text.count && text[end] != separator { end &+= 1 }
            var lower = start
            var upper = end
            while lower < upper && text[lower] == 0x20 { lower &+= 1 }
            while upper > lower && text[upper &- 1] == 0x20 { upper &-= 1 }
            if lower < upper {
                var equals = lower
                while equals < upper && text[equals] != UInt8(ascii: "=") { equals &+= 1 }
                let key = UnsafeRawBufferPointer(rebasing: text[lower..<equals])
                let value = UnsafeRawBufferPointer(rebasing: text[min(equals &+ 1, upper)..<upper])
                body(key, value)
            }
            start = end &+ 1
        }
    }

    // MARK: - Consumer and client

    /// The authenticated consumer's index in ``consumers``, or -1.
    @inline(__always)
    package var consumer: Int32 { state.pointee.consumer }

    /// Marks the request as coming from consumer `index` (an authentication plugin found it).
    @inline(__always)
    package func authenticate(consumer index: Int32) {
        state.pointee.consumer = index
    }

    /// The authenticated consumer's username, or nil.
    package var consumerName: UnsafeRawBufferPointer? {
        let index = state.pointee.consumer
        return index >= 0 ? consumers.name(Int(index)) : nil
    }

    /// The address the request counts as coming from: the peer, or what `real-ip` found.
    @inline(__always)
    package var clientAddress: ClientAddress {
        get { state.pointee.clientAddress }
        set {
            state.pointee.clientAddress = newValue
            state.pointee.addressChanged = true
        }
    }

    /// One value a plugin keeps from `access` to `log` for this request (one plugin per chain may use it).
    @inline(__always)
    package var stash: UInt64 {
        get { state.pointee.stash }
        set { state.pointee.stash = newValue }
    }

    /// Adds `name=value` (interned symbols) to the request's access-log line.
    package func setLogField(name: AccessLogSymbol, value: AccessLogSymbol) {
        state.pointee.logFieldName = name
        state.pointee.logFieldValue = value
    }

    // MARK: - Changes

    /// The changes recorded for the current request.
    package var edits: PluginEdits { Self.edits(state.pointee, pool: editPool) }

    static func edits(_ state: PluginRequestState, pool: borrowing BlockPool) -> PluginEdits {
        guard state.editBlock >= 0 else { return .none }
        return PluginEdits(
            bytes: UnsafeRawBufferPointer(start: pool.pointer(state.editBlock), count: Int(state.editLength)),
            operations: state.editOperations
        )
    }

    /// Records a change; false (and a 500 for the request) when the edit area is full.
    @discardableResult
    package func record(
        _ operation: PluginEdits.Operation,
        name: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    ) -> Bool {
        guard let area = reserve(PluginEdits.recordHeader + name.count + value.count) else { return false }
        area.storeBytes(of: operation.rawValue, toByteOffset: 0, as: UInt8.self)
        area.storeBytes(of: 0, toByteOffset: 1, as: UInt8.self)
        area.storeBytes(of: UInt16(name.count), toByteOffset: 2, as: UInt16.self)
        area.storeBytes(of: UInt16(value.count), toByteOffset: 4, as: UInt16.self)
        if name.count > 0 {
            (area + PluginEdits.recordHeader).copyMemory(from: name.baseAddress!, byteCount: name.count)
        }
        if value.count > 0 {
            (area + PluginEdits.recordHeader + name.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        state.pointee.editOperations |= 1 << UInt16(operation.rawValue)
        return true
    }

    /// Records a header change whose value is a decimal number (rate-limit headers).
    @discardableResult
    package func record(_ operation: PluginEdits.Operation, name: UnsafeRawBufferPointer, decimal: Int) -> Bool {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { buffer in
            var value = decimal.magnitude
            var end = buffer.count
            repeat {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: value % 10) &+ 48
                value /= 10
            } while value > 0
            if decimal < 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            return record(operation, name: name, value: UnsafeRawBufferPointer(rebasing: buffer[end...]))
        }
    }

    /// Sets the response status (`header_filter`).
    package func setResponseStatus(_ status: Int) {
        state.pointee.statusOverride = Int16(clamping: status)
    }

    private func reserve(_ count: Int) -> UnsafeMutableRawPointer? {
        if state.pointee.editBlock < 0 {
            let block = editPool.take()
            guard block >= 0 else {
                state.pointee.editOverflow = true
                return nil
            }
            state.pointee.editBlock = block
            state.pointee.editLength = 0
        }
        let used = Int(state.pointee.editLength)
        guard count <= UInt16.max, used + count <= Self.editCapacity else {
            state.pointee.editOverflow = true
            return nil
        }
        state.pointee.editLength += Int32(count)
        return editPool.pointer(state.pointee.editBlock) + used
    }

    /// The answer to the Redis call this request waited for, taken once (nil when it did not wait).
    @inline(__always)
    package func takeRedisReply() -> RedisReply? {
        let status = state.pointee.redisStatus
        guard status != RedisReply.waiting else { return nil }
        state.pointee.redisStatus = RedisReply.waiting
        if status == RedisReply.answered { return .values(state.pointee.redisValues.0, state.pointee.redisValues.1) }
        if status == RedisReply.retrying { return .retry }
        return .failed(RedisLimitPolicy.Failure(rawValue: Int(status) - 2) ?? .unavailable)
    }

    // MARK: - Worker side

    /// Points the request at a new request's `state` (a client slot's, emptied unless `continuing` a
    /// request a plugin delayed) and its parsed head, for `rewrite` and `access`.
    @inline(__always)
    package func begin(
        _ state: UnsafeMutablePointer<PluginRequestState>,
        source: UnsafeRawBufferPointer,
        head: HTTPRequestHead,
        consumers: ConsumerTable,
        now: UInt64,
        unixTime: Int64,
        route: Int32,
        peer: ClientAddress,
        requestID: UnsafeRawBufferPointer,
        generation: UInt64 = 0,
        continuing: Bool = false
    ) {
        if !continuing {
            state.pointee = PluginRequestState()
            state.pointee.active = true
            state.pointee.clientAddress = peer
            state.pointee.generation = generation
        }
        self.state = state
        self.source = source
        self.head = head
        self.consumers = consumers
        self.now = now
        self.unixTime = unixTime
        self.route = route
        self.peerAddress = peer
        self.requestID = requestID
        self.status = 0
        self.upstreamStatus = 0
    }

    /// Points the request at `state` for `header_filter` or `log`: the request head is gone by then.
    @inline(__always)
    package func resume(
        _ state: UnsafeMutablePointer<PluginRequestState>,
        consumers: ConsumerTable,
        now: UInt64,
        route: Int32,
        status: Int,
        upstreamStatus: Int,
        requestID: UnsafeRawBufferPointer
    ) {
        self.state = state
        self.source = UnsafeRawBufferPointer(start: nil, count: 0)
        self.head = nil
        self.consumers = consumers
        self.now = now
        self.route = route
        self.status = status
        self.upstreamStatus = upstreamStatus
        self.requestID = requestID
    }

    /// Frees what the request held (its edit block) and empties its state.
    @inline(__always)
    package func finish(_ state: UnsafeMutablePointer<PluginRequestState>) {
        guard state.pointee.active else { return }
        if state.pointee.editBlock >= 0 { editPool.release(state.pointee.editBlock) }
        state.pointee = PluginRequestState()
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes of a literal, for ``PluginRequest`` calls.
    @inline(__always)
    package init(_ literal: StaticString) {
        self.init(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}
