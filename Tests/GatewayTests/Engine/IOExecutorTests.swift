import CLiburing
import Glibc
import Testing

@testable import Gateway

/// Both executors against real loopback sockets: the same completions for the same operations.
@Suite("I/O executors: io_uring and epoll behave alike")
struct IOExecutorTests {
    static let acceptTag = UserData.make(.accept, slot: 0, generation: 0)
    static let connectTag = UserData.make(.upstreamConnect, slot: 1, generation: 1)
    static let sendTag = UserData.make(.upstreamSend, slot: 1, generation: 1)
    static let receiveTag = UserData.make(.clientReceive, slot: 2, generation: 1)

    struct Completion: Equatable {
        var userData: UInt64
        var result: Int32
        var flags: UInt32
    }

    /// Submits until a completion with `userData` arrives (or five seconds pass), keeping the others.
    static func wait(
        for userData: UInt64,
        on io: some IOExecutor,
        into seen: inout [Completion]
    ) -> Completion? {
        let deadline = gw_monotonic_ns() + 5_000_000_000
        while gw_monotonic_ns() < deadline {
            if let index = seen.firstIndex(where: { $0.userData == userData }) { return seen.remove(at: index) }
            io.submitAndWait(timeoutNanoseconds: 10_000_000)
            io.drainCompletions { seen.append(Completion(userData: $0, result: $1, flags: $2)) }
        }
        return nil
    }

    /// A listener, a client connected through the executor, and the accepted server side.
    static func connectedPair(
        _ io: some IOExecutor,
        listener: Int32,
        address: SocketAddress
    ) throws -> (client: Int32, server: Int32) {
        var seen: [Completion] = []
        io.multishotAccept(fd: listener, userData: acceptTag)
        let client = Sockets.upstreamSocket(family: address.family)
        try #require(client >= 0)
        let connected = try connectAndWait(io, client, to: address, into: &seen)
        #expect(connected.result == 0)
        let accepted = try #require(wait(for: acceptTag, on: io, into: &seen))
        #expect(accepted.result >= 0)
        #expect(accepted.flags & IOCompletion.more != 0, "multishot accept goes on")
        return (client, accepted.result)
    }

    /// Connects `fd` to `address` through `io` and returns the connect's completion.
    static func connectAndWait(
        _ io: some IOExecutor,
        _ fd: Int32,
        to address: SocketAddress,
        into seen: inout [Completion]
    ) throws -> Completion {
        // The executor reads the address when it performs the connect: keep it until the completion.
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        defer { storage.deallocate() }
        storage.pointee = address.storage
        storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            io.connect(fd: fd, address: $0, length: address.length, userData: connectTag)
        }
        return try #require(wait(for: connectTag, on: io, into: &seen))
    }

    /// A listener and a client connected to it through `io`, with the accepted server side.
    static func connectedSockets(_ io: some IOExecutor) throws -> (listener: Int32, client: Int32, server: Int32) {
        let (listener, address) = try listener()
        let (client, server) = try connectedPair(io, listener: listener, address: address)
        return (listener, client, server)
    }

    static func listener() throws -> (Int32, SocketAddress) {
        let fd = try Sockets.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!)
        return (fd, try #require(SocketAddress.local(of: fd)))
    }

    static func roundTrip(_ io: some IOExecutor) throws {
        let (listener, client, server) = try connectedSockets(io)
        defer { Glibc.close(listener) }
        var seen: [Completion] = []
        let message = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        io.receive(fd: server, userData: receiveTag)
        message.withUnsafeBytes { io.send(fd: client, buffer: $0.baseAddress!, count: $0.count, userData: sendTag) }
        let sent = try #require(wait(for: sendTag, on: io, into: &seen))
        #expect(sent.result == Int32(message.count))
        let received = try #require(wait(for: receiveTag, on: io, into: &seen))
        #expect(received.result == Int32(message.count))
        #expect(received.flags & IOCompletion.buffer != 0)
        let id = IOCompletion.bufferID(received.flags)
        let bytes = Array(UnsafeRawBufferPointer(start: io.bufferPointer(id), count: Int(received.result)))
        #expect(bytes == message)
        io.recycleBuffer(id)
        io.publishBuffers()
        io.close(fd: client)
        io.close(fd: server)
        io.submit()
    }

    /// Bytes followed by the peer's close, both already there when the receive is posted: the data
    /// and then end-of-stream (0) must both be reported.
    static func dataThenEndOfStream(_ io: some IOExecutor) throws {
        let (listener, client, server) = try connectedSockets(io)
        defer { Glibc.close(listener) }
        var seen: [Completion] = []
        io.receive(fd: server, userData: receiveTag)
        let first = Array("first".utf8)
        #expect(first.withUnsafeBytes { Glibc.send(client, $0.baseAddress!, $0.count, 0) } == first.count)
        _ = try #require(wait(for: receiveTag, on: io, into: &seen))
        // Now bytes and FIN arrive while no receive is posted.
        let rest = Array("rest".utf8)
        #expect(rest.withUnsafeBytes { Glibc.send(client, $0.baseAddress!, $0.count, 0) } == rest.count)
        Glibc.close(client)
        // Until the peer's FIN is queued behind the bytes (POLLRDHUP, 0x2000), polled with a deadline.
        var peerClosed = pollfd(fd: server, events: Int16(POLLIN) | 0x2000, revents: 0)
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while peerClosed.revents & 0x2000 == 0 && ContinuousClock.now < deadline {
            peerClosed.revents = 0
            _ = poll(&peerClosed, 1, 10)
        }
        #expect(peerClosed.revents & 0x2000 != 0, "the peer's close never arrived")
        io.submitAndWait(timeoutNanoseconds: 0)
        io.drainCompletions { seen.append(Completion(userData: $0, result: $1, flags: $2)) }
        io.receive(fd: server, userData: receiveTag)
        let data = try #require(wait(for: receiveTag, on: io, into: &seen))
        #expect(data.result == Int32(rest.count))
        io.recycleBuffer(IOCompletion.bufferID(data.flags))
        io.receive(fd: server, userData: receiveTag)
        let end = try #require(wait(for: receiveTag, on: io, into: &seen), "end of stream never reported")
        #expect(end.result == 0)
        #expect(end.flags & IOCompletion.buffer == 0)
        io.close(fd: server)
        io.submit()
    }

    /// With the only pool buffer held, a receive with bytes waiting reports -ENOBUFS.
    static func starvation(_ io: some IOExecutor) throws {
        let (listener, client, server) = try connectedSockets(io)
        defer { Glibc.close(listener) }
        let (client2, server2) = try connectedPair(io, listener: listener, address: SocketAddress.local(of: listener)!)
        var seen: [Completion] = []
        let byte: [UInt8] = [0x41]
        #expect(byte.withUnsafeBytes { Glibc.send(client, $0.baseAddress!, 1, 0) } == 1)
        #expect(byte.withUnsafeBytes { Glibc.send(client2, $0.baseAddress!, 1, 0) } == 1)
        io.receive(fd: server, userData: receiveTag)
        let held = try #require(wait(for: receiveTag, on: io, into: &seen))
        #expect(held.result == 1)
        let otherTag = UserData.make(.clientReceive, slot: 3, generation: 1)
        io.receive(fd: server2, userData: otherTag)
        let starved = try #require(wait(for: otherTag, on: io, into: &seen))
        #expect(starved.result == -ENOBUFS)
        io.recycleBuffer(IOCompletion.bufferID(held.flags))
        io.publishBuffers()
        io.receive(fd: server2, userData: otherTag)
        let served = try #require(wait(for: otherTag, on: io, into: &seen))
        #expect(served.result == 1)
        for fd in [client, server, client2, server2] { io.close(fd: fd) }
        io.submit()
    }

    /// A connect to a port nobody listens on fails with ECONNREFUSED.
    static func refusedConnect(_ io: some IOExecutor) throws {
        let (listener, address) = try listener()
        Glibc.close(listener)
        var seen: [Completion] = []
        let client = Sockets.upstreamSocket(family: address.family)
        let result = try connectAndWait(io, client, to: address, into: &seen)
        #expect(result.result == -ECONNREFUSED)
        io.close(fd: client)
        io.submit()
    }

    /// A pending receive that is cancelled completes with -ECANCELED and holds no buffer.
    static func cancelledReceive(_ io: some IOExecutor) throws {
        let (listener, client, server) = try connectedSockets(io)
        defer { Glibc.close(listener) }
        var seen: [Completion] = []
        io.receive(fd: server, userData: receiveTag)
        io.submitAndWait(timeoutNanoseconds: 0)
        io.cancel(fd: server)
        let cancelled = try #require(wait(for: receiveTag, on: io, into: &seen))
        #expect(cancelled.result == -ECANCELED)
        #expect(cancelled.flags & IOCompletion.buffer == 0)
        io.close(fd: server)
        io.close(fd: client)
        io.submit()
    }

    @Test(arguments: EngineKind.allCases)
    func cancelEndsPendingOperations(engine: EngineKind) throws {
        try Self.cancelledReceive(Self.executor(engine, buffers: 1))
    }

    /// A fresh executor of `engine` with `buffers` receive buffers of 4 KiB.
    static func executor(_ engine: EngineKind, buffers: Int) throws -> any IOExecutor {
        switch engine {
        case .ioUring: try IOUringExecutor(entries: 64, bufferCount: buffers, bufferSize: 4096)
        case .epoll: try EpollExecutor(entries: 64, bufferCount: buffers, bufferSize: 4096)
        }
    }

    @Test("io_uring flags match the executor-neutral ones")
    func flagValues() {
        #expect(IOCompletion.buffer == UInt32(IORING_CQE_F_BUFFER))
        #expect(IOCompletion.more == UInt32(IORING_CQE_F_MORE))
    }

    @Test(arguments: EngineKind.allCases)
    func sendAndReceive(engine: EngineKind) throws {
        try Self.roundTrip(Self.executor(engine, buffers: 4))
    }

    @Test(arguments: EngineKind.allCases)
    func bytesThenCloseAreBothReported(engine: EngineKind) throws {
        try Self.dataThenEndOfStream(Self.executor(engine, buffers: 4))
    }

    @Test(arguments: EngineKind.allCases)
    func receiveWithEveryBufferBusyReportsNoBuffers(engine: EngineKind) throws {
        try Self.starvation(Self.executor(engine, buffers: 1))
    }

    @Test(arguments: EngineKind.allCases)
    func refusedConnectReportsTheErrno(engine: EngineKind) throws {
        try Self.refusedConnect(Self.executor(engine, buffers: 1))
    }
}
