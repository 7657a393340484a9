/// One Redis reply (RESP2), reduced to what the gateway acts on, without allocating.
///
/// The rate-limit scripts answer with small integer arrays, so those come back whole as
/// ``integers(count:first:second:third:)``; everything else keeps only its type and size. ``RESPParser``
/// produces it.
package enum RESPReply: Equatable, Sendable {
    /// A status reply such as `+OK` or `+PONG`.
    case simple
    /// An error reply (`-ERR ...`), sorted by what the caller does about it.
    case error(RESPErrorKind)
    /// An integer reply (`:42`).
    case integer(Int64)
    /// A bulk string of `length` bytes, -1 for the null bulk string. Its bytes are the `length` before the
    /// final CRLF: `consumed - 2 - length ..< consumed - 2` in the parsed buffer.
    case bulk(length: Int)
    /// An array of `count` (≥ 1) elements whose first `min(count, 3)` are integers or bulk strings holding
    /// a decimal integer, in `first`, `second`, `third` (0 where the array is shorter). Later elements,
    /// whatever their type, were consumed and skipped.
    case integers(count: Int, first: Int64, second: Int64, third: Int64)
    /// Any other array: empty, null (`count` -1), or with a first three elements that are not all integers.
    /// Its elements, nested arrays included, were consumed and skipped.
    case array(count: Int)
}
