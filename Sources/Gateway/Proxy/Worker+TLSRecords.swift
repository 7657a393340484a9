/// Records in and out, shared by client and upstream TLS. Received records are copied into the session's
/// read BIO and their receive buffer goes straight back to the pool. Sending sealed records: the write BIO is drained into a pool block
/// one block at a time and each piece is sent, short sends resumed, before the next is drained.
extension Worker {
    /// Hands the `result` bytes of a receive completion to `stream` and recycles their buffer; false when
    /// OpenSSL would not take them.
    @inline(__always)
    func feedReceived(_ stream: UnsafeMutablePointer<TLSStream>, result: Int32, flags: UInt32) -> Bool {
        let id = IOCompletion.bufferID(flags)
        let fed = stream.pointee.feed(UnsafeRawBufferPointer(start: io.bufferPointer(id), count: Int(result)))
        io.recycleBuffer(id)
        return fed
    }

    /// What ``sendSealedRecords(_:fd:userData:)`` did.
    enum SealedRecords {
        /// A send of records is posted (or already was).
        case posted
        /// Nothing is left to send; the stream's block is back in the pool.
        case drained
        /// No block was free for the records.
        case outOfMemory
    }

    /// Posts the send of the next sealed records, if any wait and no send is posted.
    func sendSealedRecords(_ stream: UnsafeMutablePointer<TLSStream>, fd: Int32, userData: UInt64) -> SealedRecords {
        if stream.pointee.sendPosted { return .posted }
        guard stream.pointee.pendingOutput > 0 else {
            if stream.pointee.cipherBlock >= 0 {
                blocks.release(stream.pointee.cipherBlock)
                stream.pointee.cipherBlock = -1
            }
            return .drained
        }
        if stream.pointee.cipherBlock < 0 {
            stream.pointee.cipherBlock = blocks.take()
            guard stream.pointee.cipherBlock >= 0 else { return .outOfMemory }
        }
        let base = blocks.pointer(stream.pointee.cipherBlock)
        let count = stream.pointee.drainOutput(
            into: UnsafeMutableRawBufferPointer(start: base, count: blocks.blockSize)
        )
        stream.pointee.cipherOffset = 0
        stream.pointee.cipherLength = Int32(count)
        postSealedSend(stream, fd: fd, userData: userData)
        return .posted
    }

    @inline(__always)
    func postSealedSend(_ stream: UnsafeMutablePointer<TLSStream>, fd: Int32, userData: UInt64) {
        stream.pointee.sendPosted = true
        io.send(
            fd: fd,
            buffer: blocks.pointer(stream.pointee.cipherBlock) + Int(stream.pointee.cipherOffset),
            count: Int(stream.pointee.cipherLength),
            userData: userData
        )
    }

    /// A send of records completed with `result` (> 0): resumes a short send; true when the piece went
    /// out whole and the caller goes on with ``sendSealedRecords(_:fd:userData:)``.
    func sealedSendCompleted(
        _ stream: UnsafeMutablePointer<TLSStream>,
        result: Int32,
        fd: Int32,
        userData: UInt64
    ) -> Bool {
        stream.pointee.sendPosted = false
        if result < stream.pointee.cipherLength {
            stream.pointee.cipherOffset += result
            stream.pointee.cipherLength -= result
            postSealedSend(stream, fd: fd, userData: userData)
            return false
        }
        stream.pointee.cipherLength = 0
        return true
    }
}
