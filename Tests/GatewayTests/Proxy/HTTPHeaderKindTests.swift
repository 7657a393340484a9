import Testing

@testable import Gateway

/// The length-dispatched header classifier: every special name, in any case, and near misses.
@Suite("HTTPHeaderKind classification")
struct HTTPHeaderKindTests {
    static func classify(_ name: String) -> HTTPHeaderKind {
        Array(name.utf8).withUnsafeBytes { HTTPHeaderKind(name: $0, 0..<$0.count) }
    }

    @Test(arguments: HTTPHeaderKind.allCases.filter { $0 != .other })
    func everyNameIsRecognisedInAnyCase(kind: HTTPHeaderKind) {
        let name = kind.name.description
        #expect(Self.classify(name) == kind)
        #expect(Self.classify(name.uppercased()) == kind)
        let mixed = String(
            name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element }
        )
        #expect(Self.classify(mixed) == kind)
    }

    @Test(arguments: ["", "h", "hosts", "hos", "content-lengt", "x-request-ie", "transfer_encoding", "keep alive"])
    func nearMissesAreOther(name: String) {
        #expect(Self.classify(name) == .other)
    }
}
