/// Parses the supported PCRE subset into a ``ByteRegexNode`` tree and its byte sets.
struct ByteRegexParser {
    private let text: [UInt8]
    private var position = 0
    private(set) var groupCount = 0
    private(set) var sets: [ByteRegex.ByteSet] = []

    init(_ text: [UInt8]) {
        self.text = text
    }

    mutating func parse() throws(ByteRegex.CompileError) -> ByteRegexNode {
        let node = try alternation()
        if position < text.count {
            throw failure(text[position] == UInt8(ascii: ")") ? "unmatched \")\"" : "unexpected character")
        }
        return node
    }

    private func failure(_ reason: String) -> ByteRegex.CompileError {
        ByteRegex.CompileError(description: "\(reason) at offset \(position)")
    }

    private mutating func alternation() throws(ByteRegex.CompileError) -> ByteRegexNode {
        var branches = [try concatenation()]
        while position < text.count && text[position] == UInt8(ascii: "|") {
            position += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func concatenation() throws(ByteRegex.CompileError) -> ByteRegexNode {
        var items: [ByteRegexNode] = []
        while position < text.count && text[position] != UInt8(ascii: "|") && text[position] != UInt8(ascii: ")") {
            var atom = try self.atom()
            while let (minimum, maximum) = try quantifier() {
                if case .begin = atom { throw failure("nothing to repeat") }
                if case .end = atom { throw failure("nothing to repeat") }
                var greedy = true
                if position < text.count && text[position] == UInt8(ascii: "?") {
                    greedy = false
                    position += 1
                } else if position < text.count && text[position] == UInt8(ascii: "+") {
                    throw failure("possessive quantifiers are not supported")
                }
                atom = .repeated(atom, minimum: minimum, maximum: maximum, greedy: greedy)
            }
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// A quantifier at the current position (consumed), or nil.
    private mutating func quantifier() throws(ByteRegex.CompileError) -> (Int, Int?)? {
        guard position < text.count else { return nil }
        switch text[position] {
        case UInt8(ascii: "*"):
            position += 1
            return (0, nil)
        case UInt8(ascii: "+"):
            position += 1
            return (1, nil)
        case UInt8(ascii: "?"):
            position += 1
            return (0, 1)
        case UInt8(ascii: "{"):
            // `{` that does not start `{m}`, `{m,}` or `{m,n}` is a literal, as in PCRE.
            var cursor = position + 1
            guard let minimum = number(&cursor) else { return nil }
            var maximum: Int? = minimum
            if cursor < text.count && text[cursor] == UInt8(ascii: ",") {
                cursor += 1
                maximum = number(&cursor)
            }
            guard cursor < text.count, text[cursor] == UInt8(ascii: "}") else { return nil }
            position = cursor + 1
            if let maximum, maximum < minimum { throw failure("numbers out of order in {} quantifier") }
            guard max(minimum, maximum ?? 0) <= ByteRegex.maximumRepeat else {
                throw failure("repetition count above \(ByteRegex.maximumRepeat)")
            }
            return (minimum, maximum)
        default:
            return nil
        }
    }

    private func number(_ cursor: inout Int) -> Int? {
        var value = 0
        var digits = 0
        while cursor < text.count, text[cursor] &- 0x30 < 10, digits < 6 {
            value = value * 10 + Int(text[cursor] &- 0x30)
            cursor += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    private mutating func atom() throws(ByteRegex.CompileError) -> ByteRegexNode {
        let byte = text[position]
        switch byte {
        case UInt8(ascii: "("):
            position += 1
            var index: Int?
            if position + 1 < text.count && text[position] == UInt8(ascii: "?") {
                guard text[position + 1] == UInt8(ascii: ":") else {
                    throw failure("only (?: ) groups are supported among (? ) constructs")
                }
                position += 2
            } else {
                groupCount += 1
                guard groupCount <= 9 else { throw failure("more than 9 capturing groups") }
                index = groupCount
            }
            let inner = try alternation()
            guard position < text.count, text[position] == UInt8(ascii: ")") else {
                throw failure("missing \")\"")
            }
            position += 1
            return .group(index, inner)
        case UInt8(ascii: "["):
            position += 1
            return .set(addSet(try bracket()))
        case UInt8(ascii: "."):
            position += 1
            return .any
        case UInt8(ascii: "^"):
            position += 1
            return .begin
        case UInt8(ascii: "$"):
            position += 1
            return .end
        case UInt8(ascii: "\\"):
            position += 1
            switch try escape(inClass: false) {
            case .byte(let value): return .byte(value)
            case .set(let set): return .set(addSet(set))
            }
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
            throw failure("nothing to repeat")
        default:
            position += 1
            return .byte(byte)
        }
    }

    private enum Escaped {
        case byte(UInt8)
        case set(ByteRegex.ByteSet)
    }

    /// The escape after a backslash (consumed).
    private mutating func escape(inClass: Bool) throws(ByteRegex.CompileError) -> Escaped {
        guard position < text.count else { throw failure("pattern ends with a backslash") }
        let byte = text[position]
        position += 1
        switch byte {
        case UInt8(ascii: "d"): return .set(Self.digits)
        case UInt8(ascii: "D"): return .set(Self.digits.inverted())
        case UInt8(ascii: "w"): return .set(Self.word)
        case UInt8(ascii: "W"): return .set(Self.word.inverted())
        case UInt8(ascii: "s"): return .set(Self.space)
        case UInt8(ascii: "S"): return .set(Self.space.inverted())
        case UInt8(ascii: "n"): return .byte(0x0A)
        case UInt8(ascii: "r"): return .byte(0x0D)
        case UInt8(ascii: "t"): return .byte(0x09)
        case UInt8(ascii: "f"): return .byte(0x0C)
        case UInt8(ascii: "v"): return .byte(0x0B)
        case UInt8(ascii: "x"):
            guard position + 1 < text.count, let high = HTTPBytes.hexValue(text[position]),
                let low = HTTPBytes.hexValue(text[position + 1])
            else { throw failure("\\x needs two hex digits") }
            position += 2
            return .byte(high << 4 | low)
        default:
            let isAlphanumeric =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            guard !isAlphanumeric else {
                position -= 1
                throw failure("unsupported escape \\\(Character(Unicode.Scalar(byte)))")
            }
            return .byte(byte)
        }
    }

    /// The class after `[` (consumed through `]`).
    private mutating func bracket() throws(ByteRegex.CompileError) -> ByteRegex.ByteSet {
        var set = ByteRegex.ByteSet()
        var negated = false
        if position < text.count && text[position] == UInt8(ascii: "^") {
            negated = true
            position += 1
        }
        var first = true
        while true {
            guard position < text.count else { throw failure("missing \"]\"") }
            let byte = text[position]
            if byte == UInt8(ascii: "]") && !first {
                position += 1
                break
            }
            first = false
            let low: UInt8
            if byte == UInt8(ascii: "\\") {
                position += 1
                switch try escape(inClass: true) {
                case .set(let escaped):
                    set.formUnion(escaped)
                    continue
                case .byte(let value):
                    low = value
                }
            } else if byte == UInt8(ascii: "["), position + 1 < text.count, text[position + 1] == UInt8(ascii: ":") {
                throw failure("POSIX classes such as [:alpha:] are not supported")
            } else {
                position += 1
                low = byte
            }
            // A range, unless `-` is last before `]`.
            if position + 1 < text.count && text[position] == UInt8(ascii: "-")
                && text[position + 1] != UInt8(ascii: "]")
            {
                position += 1
                var high = text[position]
                position += 1
                if high == UInt8(ascii: "\\") {
                    guard case .byte(let value) = try escape(inClass: true) else {
                        throw failure("invalid range in character class")
                    }
                    high = value
                }
                guard low <= high else { throw failure("range out of order in character class") }
                set.insert(low...high)
            } else {
                set.insert(low)
            }
        }
        return negated ? set.inverted() : set
    }

    private mutating func addSet(_ set: ByteRegex.ByteSet) -> Int {
        if let index = sets.firstIndex(of: set) { return index }
        sets.append(set)
        return sets.count - 1
    }

    private static let digits: ByteRegex.ByteSet = {
        var set = ByteRegex.ByteSet()
        set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
        return set
    }()

    private static let word: ByteRegex.ByteSet = {
        var set = digits
        set.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
        set.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        set.insert(UInt8(ascii: "_"))
        return set
    }()

    private static let space: ByteRegex.ByteSet = {
        var set = ByteRegex.ByteSet()
        for byte: UInt8 in [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D] { set.insert(byte) }
        return set
    }()
}
