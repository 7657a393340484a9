import CLiburing
import Glibc

/// A ring of fixed-size receive buffers the kernel picks from when data arrives.
///
/// A receive posted with buffer selection holds no memory until bytes arrive, which is what keeps
/// idle keep-alive connections small. Buffers are returned with ``recycle(_:)`` once their bytes are
/// consumed (parsed, copied or sent on); returns are published to the kernel in batches by ``publish()``.
package final class ProvidedBuffers: @unchecked Sendable {
    package let group: UInt16
    package let count: Int
    package let size: Int
    private let ring: UnsafeMutablePointer<io_uring_buf_ring>
    /// Kept so the ring is torn down after the buffers registered with it.
    private let owner: IORing
    private let memory: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var pendingReturns: Int32 = 0

    package init(ring io: IORing, group: UInt16, count: Int, size: Int) throws(EngineError) {
        precondition(count > 0 && count & (count - 1) == 0 && count <= 32768, "buffer count must be a power of two")
        self.group = group
        self.owner = io
        self.count = count
        self.size = size
        guard let mem = mmap(nil, count * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mem != MAP_FAILED
        else {
            throw EngineError(
                code: .resources,
                message: "cannot map \(count * size) bytes of receive buffers",
                errno: errno
            )
        }
        memory = mem
        var err: Int32 = 0
        guard let br = gw_buf_ring_setup(io.ring, UInt32(count), Int32(group), &err) else {
            munmap(mem, count * size)
            throw EngineError(
                code: .resources,
                message:
                    "cannot register a provided-buffer ring: \(String(cString: strerror(err))) (needs Linux 5.19+)",
                errno: err
            )
        }
        ring = br
        for index in 0..<count {
            gw_buf_ring_add(ring, memory + index * size, UInt32(size), UInt16(index), UInt32(count), Int32(index))
        }
        gw_buf_ring_advance(ring, Int32(count))
    }

    deinit {
        _ = io_uring_unregister_buf_ring(owner.ring, Int32(group))
        munmap(UnsafeMutableRawPointer(ring), count * MemoryLayout<io_uring_buf>.stride)
        munmap(memory, count * size)
    }

    /// The start of buffer `id`.
    @inline(__always)
    package func pointer(_ id: UInt16) -> UnsafeMutableRawPointer {
        memory + Int(id) * size
    }

    /// Gives buffer `id` back; the kernel sees it after the next ``publish()``.
    @inline(__always)
    package func recycle(_ id: UInt16) {
        gw_buf_ring_add(ring, memory + Int(id) * size, UInt32(size), id, UInt32(count), pendingReturns)
        pendingReturns += 1
    }

    /// Publishes recycled buffers to the kernel.
    @inline(__always)
    package func publish() {
        if pendingReturns > 0 {
            gw_buf_ring_advance(ring, pendingReturns)
            pendingReturns = 0
        }
    }
}
