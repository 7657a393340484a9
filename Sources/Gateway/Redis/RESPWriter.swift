/// Writes Redis commands, RESP2 arrays of bulk strings, into memory the caller owns, without allocating.
///
/// A worker appends each command to its connection's send buffer:
///
/// ```swift
/// var writer = RESPWriter(buffer: base, capacity: size, count: used)
/// let saved = writer.count
/// writer.beginCommand(argumentCount: 3)
/// writer.argument("INCRBY")
/// writer.argument(key)
/// writer.argument(decimal: -1)
/// if writer.overflowed { writer.rollBack(to: saved) }  // the command did not fit: nothing of it stays
/// used = writer.count
/// ```
///
/// A piece that does not fit is not written at all and sets ``overflowed``; every later piece is skipped
/// until ``rollBack(to:)``, so a half-written command is never mistaken for a whole one.
package struct RESPWriter {
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int

    /// The bytes in the buffer: those that were there at `init` plus everything written since.
    package private(set) var count: Int

    /// Something did not fit since the last ``rollBack(to:)``: the caller drops the command.
    package private(set) var overflowed: Bool = false

    /// Arguments the command begun last still expects: 0 once it is whole. A command sent short of its
    /// arguments would make Redis read the next command's as its own, so debug builds check it at the next
    /// ``beginCommand(argumentCount:)``.
    package private(set) var pendingArguments: Int = 0

    /// A writer appending to `buffer` after its first `count` bytes, never past `capacity`.
    package init(buffer: UnsafeMutableRawPointer, capacity: Int, count: Int) {
        precondition(count >= 0 && count <= capacity, "RESPWriter: count \(count) outside 0...\(capacity)")
        self.buffer = buffer
        self.capacity = capacity
        self.count = count
    }

    /// Starts a command of `argumentCount` arguments (the command's name included): `*N\r\n`.
    package mutating func beginCommand(argumentCount: Int) {
        precondition(argumentCount > 0, "RESPWriter: a command has at least its name")
        assert(pendingArguments <= 0, "RESPWriter: the previous command is \(pendingArguments) arguments short")
        pendingArguments = argumentCount
        header(UInt8(ascii: "*"), UInt64(argumentCount))
    }

    /// One argument holding `bytes`, binary-safe.
    package mutating func argument(_ bytes: UnsafeRawBufferPointer) {
        pendingArguments -= 1
        guard header(UInt8(ascii: "$"), UInt64(bytes.count)), reserve(bytes.count + 2) else { return }
        if let base = bytes.baseAddress, bytes.count > 0 {
            (buffer + count).copyMemory(from: base, byteCount: bytes.count)
        }
        count += bytes.count
        crlf()
    }

    /// One argument holding `text` (a command name, a script's SHA1 or source).
    package mutating func argument(_ text: StaticString) {
        text.withUTF8Buffer { argument(UnsafeRawBufferPointer($0)) }
    }

    /// One argument holding `value` in decimal, with a `-` when negative (how Redis reads integers).
    package mutating func argument(decimal value: Int64) {
        pendingArguments -= 1
        let magnitude = value.magnitude
        let length = Self.digitCount(magnitude) + (value < 0 ? 1 : 0)
        guard header(UInt8(ascii: "$"), UInt64(length)), reserve(length + 2) else { return }
        if value < 0 { buffer.storeBytes(of: UInt8(ascii: "-"), toByteOffset: count, as: UInt8.self) }
        digits(magnitude, endingAt: count + length)
        count += length
        crlf()
    }

    /// One argument holding `value` as 16 lower-case hex digits, zero-padded (a hashed key).
    package mutating func argument(hex value: UInt64) {
        pendingArguments -= 1
        guard header(UInt8(ascii: "$"), 16), reserve(16 + 2) else { return }
        hexDigits(value, at: count)
        count += 16
        crlf()
    }

    /// One argument holding `prefix` followed by `value` as 16 lower-case hex digits: a namespaced key such
    /// as `gw:lc:` + the key's hash, as one bulk string.
    package mutating func argument(_ prefix: StaticString, hex value: UInt64) {
        pendingArguments -= 1
        let length = prefix.utf8CodeUnitCount + 16
        guard header(UInt8(ascii: "$"), UInt64(length)), reserve(length + 2) else { return }
        prefix.withUTF8Buffer { text in
            if let base = text.baseAddress, text.count > 0 {
                (buffer + count).copyMemory(from: base, byteCount: text.count)
            }
        }
        hexDigits(value, at: count + prefix.utf8CodeUnitCount)
        count += length
        crlf()
    }

    /// Drops everything written after `saved` (a ``count`` read before the command began) and clears
    /// ``overflowed``.
    package mutating func rollBack(to saved: Int) {
        precondition(saved >= 0 && saved <= count, "RESPWriter: roll back to \(saved) outside 0...\(count)")
        count = saved
        overflowed = false
        pendingArguments = 0
    }

    // MARK: - Pieces

    /// `marker`, `value` in decimal and CRLF; false (and nothing written) when it does not fit.
    @discardableResult
    private mutating func header(_ marker: UInt8, _ value: UInt64) -> Bool {
        let length = Self.digitCount(value)
        guard reserve(1 + length + 2) else { return false }
        buffer.storeBytes(of: marker, toByteOffset: count, as: UInt8.self)
        digits(value, endingAt: count + 1 + length)
        count += 1 + length
        crlf()
        return true
    }

    /// Whether `length` more bytes fit; when they do not, marks the writer overflowed. Once overflowed,
    /// nothing fits until the roll-back, so a command is never written with a piece missing.
    private mutating func reserve(_ length: Int) -> Bool {
        if overflowed || capacity - count < length {
            overflowed = true
            return false
        }
        return true
    }

    /// CRLF at `count`; the caller reserved room for it.
    private mutating func crlf() {
        buffer.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: count, as: UInt8.self)
        buffer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: count + 1, as: UInt8.self)
        count += 2
    }

    /// `value`'s decimal digits, the last one just before `end`.
    private func digits(_ value: UInt64, endingAt end: Int) {
        var value = value
        var position = end
        repeat {
            position -= 1
            buffer.storeBytes(of: UInt8(ascii: "0") + UInt8(value % 10), toByteOffset: position, as: UInt8.self)
            value /= 10
        } while value > 0
    }

    /// `value` as 16 lower-case hex digits from `offset`.
    private func hexDigits(_ value: UInt64, at offset: Int) {
        for index in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0x0F
            let digit = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            buffer.storeBytes(of: digit, toByteOffset: offset + index, as: UInt8.self)
        }
    }

    /// How many decimal digits `value` has (1 for zero).
    private static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}
