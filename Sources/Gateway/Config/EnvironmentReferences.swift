/// The `${...}` references of a YAML text, swapped for opaque tokens before the text is composed and swapped
/// back in the composed tree.
///
/// In a flow collection YAML reads `{` and `}` as structure, so `timeout: {connect: ${CONNECT}}` would not
/// even parse; a token is a plain scalar anywhere. Only the reference's text is hidden from the YAML parser,
/// never its value, so a value can never change the document's structure.
struct EnvironmentReferences {
    /// The original text of each reference, by token number.
    private(set) var references: [String] = []

    private static let open: Character = "\u{E000}"
    private static let close: Character = "\u{E001}"

    /// An instance with no references, whose ``restore(_:)`` returns its argument.
    init() {}

    /// Replaces in `text` every well-formed `${NAME}` or `${NAME:-default}` whose default holds no quote,
    /// backslash or brace (those are left to YAML, as is `$${`). Text that already holds a token character (a
    /// Unicode private-use one) is left alone.
    init(protecting text: inout String) {
        guard !text.contains(Self.open), text.contains("${") else { return }
        var output = ""
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[dollar...]
            if after.hasPrefix("$${") {
                output += "$${"
                rest = after.dropFirst(3)
                continue
            }
            guard after.hasPrefix("${"), let reference = Self.reference(at: after) else {
                output += "$"
                rest = after.dropFirst()
                continue
            }
            output += "\(Self.open)\(references.count)\(Self.close)"
            references.append(String(reference))
            rest = after[reference.endIndex...]
        }
        output += rest
        text = output
    }

    /// `text` with every token turned back into the reference it stands for.
    func restore(_ text: String) -> String {
        guard !references.isEmpty, text.contains(Self.open) else { return text }
        var output = ""
        var rest = text[...]
        while let open = rest.firstIndex(of: Self.open) {
            output += rest[..<open]
            let digits = rest[rest.index(after: open)...].prefix { $0.isASCII && $0.isNumber }
            guard digits.endIndex < rest.endIndex, rest[digits.endIndex] == Self.close, let index = Int(digits),
                index < references.count
            else {
                output.append(Self.open)
                rest = rest[rest.index(after: open)...]
                continue
            }
            output += references[index]
            rest = rest[rest.index(after: digits.endIndex)...]
        }
        output += rest
        return output
    }

    /// The well-formed reference at the start of `text` ("${NAME}" or "${NAME:-default}"), if there is one.
    private static func reference(at text: Substring) -> Substring? {
        let body = text.dropFirst(2)
        guard let end = body.firstIndex(where: { "}{\"'\\\n\r".contains($0) }), body[end] == "}" else { return nil }
        let inner = body[..<end]
        let name = inner.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard let first = name.first, !first.isNumber,
            name.endIndex == inner.endIndex || inner[name.endIndex...].hasPrefix(":-")
        else { return nil }
        return text[..<body.index(after: end)]
    }
}
