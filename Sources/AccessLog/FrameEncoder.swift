import CZstd

/// Builds one output frame at a time: a complete zstd frame, or a run of plain lines.
///
/// The whole frame is kept in memory until ``finishFrame()`` so it reaches the file in one write:
/// a crash (kill -9) can then only ever lose the frame being built, never leave half of one behind.
/// Thread-confined to the logging thread.
final class FrameEncoder {
    private let context: OpaquePointer?
    private var output: UnsafeMutableRawPointer
    private var outputCapacity: Int
    private(set) var outputCount = 0
    /// Uncompressed bytes added to the current frame.
    private(set) var frameInputBytes = 0

    init(compression: AccessLogConfiguration.Compression, expectedFrameSize: Int) throws(AccessLogError) {
        switch compression {
        case .none:
            self.context = nil
            self.outputCapacity = expectedFrameSize + (64 << 10)
        case .zstd(let level):
            guard let context = ZSTD_createCCtx() else {
                throw AccessLogError(.compression, "ZSTD_createCCtx failed")
            }
            self.context = context
            try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level")
            // A checksum lets readers tell a damaged frame from a good one.
            try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), "enable checksum")
            self.outputCapacity = ZSTD_compressBound(expectedFrameSize + (64 << 10)) + 1024
        }
        self.output = .allocate(byteCount: self.outputCapacity, alignment: 16)
    }

    deinit {
        if let context { ZSTD_freeCCtx(context) }
        self.output.deallocate()
    }

    private static func check(_ code: Int, _ what: String) throws(AccessLogError) {
        if ZSTD_isError(code) != 0 {
            throw AccessLogError(.compression, "zstd \(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }

    /// Adds formatted lines to the current frame.
    func add(_ bytes: UnsafeRawBufferPointer) throws(AccessLogError) {
        guard bytes.count > 0 else { return }
        self.frameInputBytes += bytes.count
        guard let context else {
            self.ensureFree(bytes.count)
            (self.output + self.outputCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            self.outputCount += bytes.count
            return
        }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            self.ensureFree(ZSTD_CStreamOutSize())
            var out = ZSTD_outBuffer(
                dst: self.output + self.outputCount,
                size: self.outputCapacity - self.outputCount,
                pos: 0
            )
            let code = ZSTD_compressStream2(context, &out, &input, ZSTD_e_continue)
            self.outputCount += out.pos
            try Self.check(code, "compress")
        }
    }

    /// Ends the current frame and returns its bytes (valid until the next ``add(_:)``/``reset()``).
    func finishFrame() throws(AccessLogError) -> UnsafeRawBufferPointer {
        if let context, self.frameInputBytes > 0 {
            var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while true {
                self.ensureFree(ZSTD_CStreamOutSize())
                var out = ZSTD_outBuffer(
                    dst: self.output + self.outputCount,
                    size: self.outputCapacity - self.outputCount,
                    pos: 0
                )
                let remaining = ZSTD_compressStream2(context, &out, &input, ZSTD_e_end)
                self.outputCount += out.pos
                try Self.check(remaining, "end frame")
                if remaining == 0 { break }
            }
        }
        return UnsafeRawBufferPointer(start: self.output, count: self.outputCount)
    }

    /// Forgets the current frame after it was written (or failed to be).
    func reset() {
        self.outputCount = 0
        self.frameInputBytes = 0
        if let context { ZSTD_CCtx_reset(context, ZSTD_reset_session_only) }
    }

    private func ensureFree(_ needed: Int) {
        guard self.outputCapacity - self.outputCount < needed else { return }
        let newCapacity = max(self.outputCapacity * 2, self.outputCount + needed)
        let newOutput = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newOutput.copyMemory(from: self.output, byteCount: self.outputCount)
        self.output.deallocate()
        self.output = newOutput
        self.outputCapacity = newCapacity
    }
}
