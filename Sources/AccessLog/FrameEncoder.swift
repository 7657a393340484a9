import CZstd

/// Turns the lines of one frame into the bytes written for it: a complete zstd frame, or the lines
/// themselves for plain output.
///
/// Lines are formatted into one buffer per frame and compressed in a single call when the frame
/// closes: one-shot compression skips the streaming compressor's copy into its window (about a tenth
/// of zstd's time on log lines), and the frame reaches the file in one write, so a crash (kill -9) can
/// only ever lose the frame being built, never leave half of one behind. Thread-confined to the
/// logging thread.
final class FrameEncoder {
    private let context: OpaquePointer?
    private var output: UnsafeMutableRawPointer
    private var outputCapacity: Int

    init(compression: AccessLogConfiguration.Compression, expectedFrameSize: Int) throws(AccessLogError) {
        switch compression {
        case .none:
            self.context = nil
            self.outputCapacity = 0
        case .zstd(let level):
            guard let context = ZSTD_createCCtx() else {
                throw AccessLogError(.compression, "ZSTD_createCCtx failed")
            }
            do {
                try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level")
                if level <= Self.smallTableMaximumLevel {
                    try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_hashLog, Self.lineHashLog), "set hashLog")
                    try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_chainLog, Self.lineChainLog), "set chainLog")
                }
                // A checksum lets readers tell a damaged frame from a good one.
                try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), "enable checksum")
            } catch {
                // deinit does not run for an init that throws: free the context here.
                ZSTD_freeCCtx(context)
                throw error
            }
            self.context = context
            self.outputCapacity = ZSTD_compressBound(expectedFrameSize)
        }
        self.output = .allocate(byteCount: max(self.outputCapacity, 1), alignment: 16)
    }

    /// The fast levels (zstd's `fast` and `dfast` strategies) probe one or two hash tables at every
    /// position that does not continue a match. Their default tables for a 1 MiB frame (768 KiB at
    /// level 3) miss the cache on nearly every probe, and the probes cluster on the bytes no earlier
    /// line repeats: random request and trace ids. A log line's matches are in the lines just before
    /// it, which 2^12 and 2^9 entries (18 KiB, in L1) still find: on generated gateway lines the ratio
    /// is unchanged (10.2x; 8.8x with trace ids, 8.7x with the default tables) and compression is 15 %
    /// faster, 38 % with a trace id on every line (`zstd -b3 --zstd=hlog=12,clog=9`; docs/BENCHMARKS.md).
    /// Slower levels keep zstd's tables: whoever picks them trades speed for ratio.
    static let smallTableMaximumLevel: Int32 = 4
    static let lineHashLog: Int32 = 12
    static let lineChainLog: Int32 = 9

    deinit {
        if let context { ZSTD_freeCCtx(context) }
        self.output.deallocate()
    }

    private static func check(_ code: Int, _ what: String) throws(AccessLogError) {
        if ZSTD_isError(code) != 0 {
            throw AccessLogError(.compression, "zstd \(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }

    /// The frame for `lines` (valid until the next call): compressed, or `lines` itself when plain.
    func encode(_ lines: UnsafeRawBufferPointer) throws(AccessLogError) -> UnsafeRawBufferPointer {
        guard let context, lines.count > 0 else { return lines }
        let bound = ZSTD_compressBound(lines.count)
        if bound > self.outputCapacity {
            self.output.deallocate()
            self.output = .allocate(byteCount: bound, alignment: 16)
            self.outputCapacity = bound
        }
        let size = ZSTD_compress2(context, self.output, self.outputCapacity, lines.baseAddress, lines.count)
        try Self.check(size, "compress")
        return UnsafeRawBufferPointer(start: self.output, count: size)
    }
}
