import Glibc

/// `count` zeroed values of `T` from calloc: large blocks come straight from mmap, so pages never
/// written stay non-resident (a worker's slabs are sized for its connection limit). Free with `free`.
@inline(__always)
package func zeroed<T>(_ count: Int) -> UnsafeMutablePointer<T> {
    calloc(count, MemoryLayout<T>.stride)!.bindMemory(to: T.self, capacity: count)
}
