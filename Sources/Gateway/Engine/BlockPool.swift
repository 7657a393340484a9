import Glibc

/// Fixed-size byte blocks for rewritten heads, split heads and gateway-generated responses.
///
/// Blocks are carved from chunks allocated on first need and then recycled through a free stack, so a
/// worker in steady state never calls malloc.
package struct BlockPool: ~Copyable {
    package let blockSize: Int
    private let blocksPerChunk: Int
    private var chunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private var chunkCount: Int = 0
    private let maxChunks: Int
    private var freeStack: UnsafeMutablePointer<Int32>
    private var freeCount: Int = 0
    /// Blocks handed out and not yet released.
    package private(set) var inUse: Int = 0

    package init(blockSize: Int, blocksPerChunk: Int = 64, maxBlocks: Int = 65536) {
        self.blockSize = blockSize
        self.blocksPerChunk = blocksPerChunk
        maxChunks = max(1, maxBlocks / blocksPerChunk)
        chunks = zeroed(maxChunks)
        freeStack = zeroed(maxChunks * blocksPerChunk)
    }

    deinit {
        for index in 0..<chunkCount { free(chunks[index]) }
        free(chunks)
        free(freeStack)
    }

    /// Takes a block; returns -1 when the pool is exhausted.
    @inline(__always)
    package mutating func take() -> Int32 {
        if freeCount == 0 && !grow() { return -1 }
        freeCount -= 1
        inUse += 1
        return freeStack[freeCount]
    }

    @inline(__always)
    package mutating func release(_ id: Int32) {
        freeStack[freeCount] = id
        freeCount += 1
        inUse -= 1
    }

    @inline(__always)
    package func pointer(_ id: Int32) -> UnsafeMutableRawPointer {
        let index = Int(id)
        return chunks[index / blocksPerChunk].unsafelyUnwrapped + (index % blocksPerChunk) * blockSize
    }

    private mutating func grow() -> Bool {
        guard chunkCount < maxChunks, let memory = malloc(blockSize * blocksPerChunk) else { return false }
        chunks[chunkCount] = memory
        let base = chunkCount * blocksPerChunk
        for offset in 0..<blocksPerChunk {
            freeStack[freeCount] = Int32(base + blocksPerChunk - 1 - offset)
            freeCount += 1
        }
        chunkCount += 1
        return true
    }
}
