import CLiburing
import Glibc

/// The io_uring executor: one ring per thread (`SINGLE_ISSUER | DEFER_TASKRUN` where the kernel has
/// them), multishot accept, and receives into a provided-buffer ring.
package final class IOUringExecutor: IOExecutor {
    package static var kind: EngineKind { .ioUring }

    package let ring: IORing
    private let buffers: ProvidedBuffers

    package init(entries: UInt32, bufferCount: Int, bufferSize: Int) throws(EngineError) {
        ring = try IORing(entries: entries)
        buffers = try ProvidedBuffers(ring: ring, group: 0, count: bufferCount, size: bufferSize)
    }

    @inline(__always)
    package func submitAndWait(timeoutNanoseconds: Int64) { ring.submitAndWait(timeoutNanoseconds: timeoutNanoseconds) }

    @inline(__always)
    package func submit() { ring.submit() }

    @inline(__always)
    package func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) { ring.drainCompletions(body) }

    @inline(__always)
    package func multishotAccept(fd: Int32, userData: UInt64) { ring.multishotAccept(fd: fd, userData: userData) }

    @inline(__always)
    package func receive(fd: Int32, userData: UInt64) {
        ring.receive(fd: fd, group: buffers.group, userData: userData)
    }

    @inline(__always)
    package func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        ring.receive(fd: fd, into: buffer, count: count, userData: userData)
    }

    @inline(__always)
    package func send(fd: Int32, buffer: UnsafeRawPointer, count: Int, userData: UInt64) {
        ring.send(fd: fd, buffer: buffer, count: count, userData: userData)
    }

    @inline(__always)
    package func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, userData: UInt64) {
        ring.connect(fd: fd, address: address, length: length, userData: userData)
    }

    @inline(__always)
    package func close(fd: Int32) { ring.close(fd: fd) }

    @inline(__always)
    package func cancel(fd: Int32) { ring.cancel(fd: fd) }

    @inline(__always)
    package func bufferPointer(_ id: UInt16) -> UnsafeMutableRawPointer { buffers.pointer(id) }

    @inline(__always)
    package func recycleBuffer(_ id: UInt16) { buffers.recycle(id) }

    @inline(__always)
    package func publishBuffers() { buffers.publish() }
}
