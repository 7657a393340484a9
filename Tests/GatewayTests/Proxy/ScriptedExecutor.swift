import Glibc
import Testing

@testable import Gateway

/// An executor that performs no I/O: it records what the worker asks for and completes an operation
/// only when the test says so, so the worker's connection logic runs on scripted events.
///
/// Descriptors are numbers it hands out (from 1000); receive buffers are real memory, as the worker
/// parses and forwards from them.
final class ScriptedExecutor: IOExecutor {
    static var kind: EngineKind { .epoll }

    struct Send {
        var bytes: [UInt8]
        var userData: UInt64
    }

    private(set) var receives: [Int32: UInt64] = [:]
    private(set) var sends: [Int32: Send] = [:]
    private(set) var connects: [Int32: UInt64] = [:]
    /// The port each connect was posted to (IPv4 and IPv6).
    private(set) var connectPorts: [Int32: UInt16] = [:]
    private(set) var accepts: [Int32: UInt64] = [:]
    private(set) var closed: [Int32] = []
    private(set) var shutDown: [Int32] = []
    /// Every descriptor `openSocket` handed out, in order.
    private(set) var opened: [Int32] = []
    private var completions: [(UInt64, Int32, UInt32)] = []
    private var nextDescriptor: Int32 = 1000

    private let memory: UnsafeMutableRawPointer
    private let bufferSize: Int
    private let bufferCount: Int
    private var free: [UInt16]

    init(entries: UInt32, bufferCount: Int, bufferSize: Int) {
        self.bufferSize = bufferSize
        self.bufferCount = bufferCount
        memory = .allocate(byteCount: bufferCount * bufferSize, alignment: 64)
        free = (0..<bufferCount).reversed().map { UInt16($0) }
    }

    deinit { memory.deallocate() }

    /// Pool buffers the worker holds right now.
    var buffersInUse: Int { bufferCount - free.count }

    // MARK: - IOExecutor

    func submitAndWait(timeoutNanoseconds: Int64) {}
    func submit() {}

    func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) {
        let ready = completions
        completions.removeAll()
        for (userData, result, flags) in ready { body(userData, result, flags) }
    }

    func multishotAccept(fd: Int32, userData: UInt64) { accepts[fd] = userData }

    func receive(fd: Int32, userData: UInt64) {
        precondition(receives[fd] == nil, "a second receive posted on \(fd)")
        receives[fd] = userData
    }

    func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        fatalError("the worker receives into pool buffers only")
    }

    func send(fd: Int32, buffer: UnsafeRawPointer, count: Int, userData: UInt64) {
        precondition(sends[fd] == nil, "a second send posted on \(fd)")
        sends[fd] = Send(bytes: Array(UnsafeRawBufferPointer(start: buffer, count: count)), userData: userData)
    }

    func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, userData: UInt64) {
        connects[fd] = userData
        // sin_port and sin6_port share their offset.
        connectPorts[fd] = UInt16(bigEndian: UnsafeRawPointer(address).load(fromByteOffset: 2, as: UInt16.self))
    }

    func close(fd: Int32) {
        cancel(fd: fd)
        closed.append(fd)
    }

    func cancel(fd: Int32) {
        receives[fd] = nil
        sends[fd] = nil
        connects[fd] = nil
        accepts[fd] = nil
    }

    func openSocket(family: Int32) -> Int32 {
        nextDescriptor += 1
        opened.append(nextDescriptor)
        return nextDescriptor
    }

    func peerAddress(of fd: Int32) -> SocketAddress? { SocketAddress(host: "192.0.2.7", port: 40_000) }

    func shutdownWrite(fd: Int32) { shutDown.append(fd) }

    func bufferPointer(_ id: UInt16) -> UnsafeMutableRawPointer { memory + Int(id) * bufferSize }

    func recycleBuffer(_ id: UInt16) {
        precondition(!free.contains(id), "buffer \(id) returned twice")
        free.append(id)
    }

    func publishBuffers() {}

    // MARK: - Script

    /// A client connects on `listener`; returns its descriptor.
    func acceptClient(on listener: Int32) -> Int32 {
        guard let userData = accepts[listener] else {
            Issue.record("no accept posted on \(listener)")
            return -1
        }
        nextDescriptor += 1
        completions.append((userData, nextDescriptor, IOCompletion.more))
        return nextDescriptor
    }

    /// Bytes arrive for the receive posted on `fd`.
    func deliver(_ text: String, to fd: Int32) { deliver(Array(text.utf8), to: fd) }

    func deliver(_ bytes: [UInt8], to fd: Int32) {
        guard let userData = receives.removeValue(forKey: fd) else {
            Issue.record("no receive posted on \(fd)")
            return
        }
        precondition(bytes.count <= bufferSize)
        guard let id = free.popLast() else {
            completions.append((userData, -ENOBUFS, 0))
            return
        }
        bufferPointer(id).copyMemory(from: bytes, byteCount: bytes.count)
        completions.append((userData, Int32(bytes.count), IOCompletion.buffer | UInt32(id) << 16))
    }

    /// The receive posted on `fd` finds every pool buffer busy.
    func starve(_ fd: Int32) {
        guard let userData = receives.removeValue(forKey: fd) else {
            Issue.record("no receive posted on \(fd)")
            return
        }
        completions.append((userData, -ENOBUFS, 0))
    }

    /// The peer of `fd` closes: the posted receive reports end of stream (or `error`).
    func endOfStream(_ fd: Int32, error: Int32 = 0) {
        guard let userData = receives.removeValue(forKey: fd) else {
            Issue.record("no receive posted on \(fd)")
            return
        }
        completions.append((userData, -error, 0))
    }

    /// Completes the send posted on `fd` with `count` bytes (all by default), or fails it with `error`;
    /// returns the bytes that were sent.
    @discardableResult
    func completeSend(_ fd: Int32, count: Int? = nil, error: Int32 = 0) -> [UInt8] {
        guard let send = sends.removeValue(forKey: fd) else {
            Issue.record("no send posted on \(fd)")
            return []
        }
        if error != 0 {
            completions.append((send.userData, -error, 0))
            return []
        }
        let sent = min(count ?? send.bytes.count, send.bytes.count)
        completions.append((send.userData, Int32(sent), 0))
        return Array(send.bytes[0..<sent])
    }

    /// Completes the connect posted on `fd` (0, or a negated errno).
    func completeConnect(_ fd: Int32, result: Int32 = 0) {
        guard let userData = connects.removeValue(forKey: fd) else {
            Issue.record("no connect posted on \(fd)")
            return
        }
        completions.append((userData, result, 0))
    }

    /// The text of the send posted on `fd`, if any.
    func pendingSend(_ fd: Int32) -> String? {
        sends[fd].map { String(decoding: $0.bytes, as: UTF8.self) }
    }
}
