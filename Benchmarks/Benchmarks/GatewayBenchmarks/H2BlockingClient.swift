import Glibc

/// An HTTP/2 client (h2c with prior knowledge) over one blocking socket that never allocates after
/// `init`: one GET stream per ``roundTrip()``, read until the stream ends.
///
/// The request's header block is stateless HPACK (static-table references and literals without
/// indexing), so the same bytes serve every stream with only the stream id patched. The connection
/// window is opened wide once, so no WINDOW_UPDATE is needed while benchmarking.
final class H2BlockingClient {
    private let fd: Int32
    private let request: UnsafeMutableRawBufferPointer
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 20
    private var filled = 0
    private var streamID: UInt32 = 1
    private let settingsAck: UnsafeMutableRawBufferPointer

    init(port: UInt16, authority: String, path: String) {
        fd = LoopbackSockets.connectLoopback(port: port)
        buffer = .allocate(capacity: capacity)
        var block: [UInt8] = [0x82, 0x86]  // :method GET, :scheme http
        block += [0x04, UInt8(path.utf8.count)] + Array(path.utf8)  // :path, literal without indexing
        block += [0x01, UInt8(authority.utf8.count)] + Array(authority.utf8)  // :authority
        let frame = Self.frameHeader(length: block.count, type: 1, flags: 0x05, stream: 1) + block
        request = Self.copy(frame)
        settingsAck = Self.copy(Self.frameHeader(length: 0, type: 4, flags: 1, stream: 0))
        var preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        preface += Self.frameHeader(length: 0, type: 4, flags: 0, stream: 0)
        // WINDOW_UPDATE on the connection: as large as the protocol allows.
        let increment: UInt32 = 0x7FFF_FFFF - 65535
        preface += Self.frameHeader(length: 4, type: 8, flags: 0, stream: 0)
        preface += [
            UInt8(increment >> 24), UInt8(truncatingIfNeeded: increment >> 16),
            UInt8(truncatingIfNeeded: increment >> 8),
            UInt8(truncatingIfNeeded: increment),
        ]
        preface.withUnsafeBytes { RawBytes.writeAll(fd, $0.baseAddress!, $0.count) }
    }

    deinit {
        close()
        request.deallocate()
        settingsAck.deallocate()
        buffer.deallocate()
    }

    func close() {
        _ = Glibc.close(fd)
    }

    /// Copies raw bytes into a new buffer; setup only.
    static func copy(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        buffer.copyBytes(from: bytes)
        return buffer
    }

    static func frameHeader(length: Int, type: UInt8, flags: UInt8, stream: UInt32) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
            UInt8(truncatingIfNeeded: length), type, flags, UInt8(truncatingIfNeeded: stream >> 24),
            UInt8(truncatingIfNeeded: stream >> 16), UInt8(truncatingIfNeeded: stream >> 8),
            UInt8(truncatingIfNeeded: stream),
        ]
    }

    /// Sends one GET stream and reads frames until it ends; returns the response's DATA byte count.
    @discardableResult
    func roundTrip() -> Int {
        let id = streamID
        streamID &+= 2
        let bytes = request.baseAddress!.assumingMemoryBound(to: UInt8.self)
        bytes[5] = UInt8(truncatingIfNeeded: id >> 24)
        bytes[6] = UInt8(truncatingIfNeeded: id >> 16)
        bytes[7] = UInt8(truncatingIfNeeded: id >> 8)
        bytes[8] = UInt8(truncatingIfNeeded: id)
        RawBytes.writeAll(fd, request.baseAddress!, request.count)
        var data = 0
        var sawStatus = false
        while true {
            while filled < 9 { readSome() }
            let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
            while filled < 9 + length { readSome() }
            let type = buffer[3]
            let flags = buffer[4]
            let stream =
                UInt32(buffer[5] & 0x7F) << 24 | UInt32(buffer[6]) << 16 | UInt32(buffer[7]) << 8
                | UInt32(buffer[8])
            switch type {
            case 4 where flags & 1 == 0:
                RawBytes.writeAll(fd, settingsAck.baseAddress!, settingsAck.count)
            case 7:
                fatalError("GOAWAY from the gateway")
            case 3 where stream == id:
                fatalError("the gateway reset the stream")
            case 1 where stream == id:
                // nghttp2 sends :status 200 as static index 8 first.
                precondition(length > 0 && buffer[9] == 0x88, "unexpected response status")
                sawStatus = true
            case 0 where stream == id:
                data &+= length
            default:
                break
            }
            let ended = stream == id && (type == 0 || type == 1) && flags & 1 != 0
            let frame = 9 + length
            if filled > frame { memmove(buffer, buffer + frame, filled - frame) }
            filled -= frame
            if ended {
                precondition(sawStatus, "stream ended without a response head")
                return data
            }
        }
    }

    private func readSome() {
        precondition(filled < capacity, "frame larger than the client buffer")
        while true {
            let n = read(fd, buffer + filled, capacity &- filled)
            if n > 0 {
                filled &+= n
                return
            }
            if n < 0 && errno == EINTR { continue }
            fatalError(n == 0 ? "connection closed by peer" : "read failed: errno \(errno)")
        }
    }
}
