/// A regular expression over bytes, compiled once from the configuration and matched on the worker
/// without allocating (`cors` `allow_origins_by_regex`, `proxy-rewrite` `regex_uri`).
///
/// Swift's `Regex` allocates while matching, so this is a small engine of its own: the pattern is parsed
/// into a program for a Pike VM (Thompson NFA simulation with capture slots, as in RE2), which runs in
/// time proportional to text length × program size — no exponential backtracking on hostile input —
/// and in a workspace the caller provides (``workspaceSize`` bytes, one per worker).
///
/// Supported syntax (a PCRE subset; anything else is a configuration error, never a silent mismatch):
/// - literals; `.` (any byte but `\n`); `^` and `$` (start and end of the text);
/// - classes `[a-z]`, `[^/]`, with ranges and escapes inside; `\d \w \s` and `\D \W \S`;
/// - escapes of punctuation (`\/ \. \- \\ \? \* …`), `\n \r \t \f \v`, `\xHH`;
/// - groups `( )` (capturing, up to 9) and `(?: )`; alternation `|`;
/// - quantifiers `* + ? {m} {m,} {m,n}` (up to 1000), each optionally lazy (`*?`).
///
/// Matching is leftmost-first like PCRE: ``search(_:in:)`` finds the leftmost match, preferring
/// alternatives in order and greedy quantifiers long, and reports the groups' spans. One difference: a
/// repeated group that can match empty (`(a*)*`) reports its last non-empty iteration where PCRE reports
/// the final empty one.
package final class ByteRegex: @unchecked Sendable {
    enum Operation: UInt8 {
        /// Consume the byte `x`.
        case byte
        /// Consume any byte but `\n`.
        case any
        /// Consume a byte in the set `x`.
        case set
        /// Continue at `x`, then (lower priority) at `y`.
        case split
        /// Continue at `x`.
        case jump
        /// Record the position in capture slot `x`.
        case save
        /// Succeed only at the start of the text.
        case begin
        /// Succeed only at the end of the text.
        case end
        /// The whole pattern matched.
        case match
    }

    struct Instruction {
        var operation: Operation
        var x: Int32
        var y: Int32
    }

    /// 256 bits: which bytes a class accepts.
    struct ByteSet: Equatable {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        @inline(__always)
        func contains(_ byte: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: return words.0 & bit != 0
            case 1: return words.1 & bit != 0
            case 2: return words.2 & bit != 0
            default: return words.3 & bit != 0
            }
        }

        mutating func insert(_ byte: UInt8) {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }

        mutating func insert(_ range: ClosedRange<UInt8>) {
            for byte in range { insert(byte) }
        }

        mutating func formUnion(_ other: ByteSet) {
            words.0 |= other.words.0
            words.1 |= other.words.1
            words.2 |= other.words.2
            words.3 |= other.words.3
        }

        func inverted() -> ByteSet {
            ByteSet(words: (~words.0, ~words.1, ~words.2, ~words.3))
        }

        static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
            lhs.words == rhs.words
        }
    }

    /// Why a pattern does not compile, with the byte offset where it went wrong.
    package struct CompileError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Largest program accepted (instructions after expanding counted repetition).
    static let maximumProgram = 2048
    /// Largest `{m,n}` bound.
    static let maximumRepeat = 1000

    let program: UnsafeMutablePointer<Instruction>
    let programCount: Int
    let sets: UnsafeMutablePointer<ByteSet>
    let setCount: Int
    /// Whether every match must start at offset 0 (the pattern begins with `^` outside any alternation).
    let anchoredStart: Bool
    /// The pattern as configured (for messages).
    package let pattern: String
    /// Capturing groups (`$1`…); group 0 is the whole match.
    package let groupCount: Int
    /// Capture slots: start and end of group 0 and of each group.
    package var slotCount: Int { 2 * (groupCount + 1) }

    package init(_ pattern: String) throws(CompileError) {
        self.pattern = pattern
        var parser = ByteRegexParser(Array(pattern.utf8))
        let tree = try parser.parse()
        var compiler = ByteRegexCompiler()
        try compiler.emit(.group(0, tree))
        compiler.append(Instruction(operation: .match, x: 0, y: 0))
        groupCount = parser.groupCount
        anchoredStart = Self.startsAnchored(tree)
        programCount = compiler.instructions.count
        program = .allocate(capacity: programCount)
        program.initialize(from: compiler.instructions, count: programCount)
        setCount = parser.sets.count
        sets = .allocate(capacity: max(1, setCount))
        sets.initialize(from: parser.sets, count: setCount)
    }

    deinit {
        program.deallocate()
        sets.deallocate()
    }

    private static func startsAnchored(_ node: ByteRegexNode) -> Bool {
        switch node {
        case .begin: return true
        case .group(_, let inner): return startsAnchored(inner)
        case .concat(let items): return items.first.map(startsAnchored) ?? false
        default: return false
        }
    }
}
