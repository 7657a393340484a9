/// The Admin API keys (`admin.keys`), checked in constant time.
///
/// A check compares the presented token with every key, each over the full length of the longer of the two,
/// and never stops early: how long it takes does not depend on which key matched, nor on how many leading
/// bytes of a wrong token were right.
package struct AdminKeyring: Sendable {
    private let keys: [(secret: [UInt8], role: AdminConfig.Role)]

    package init(_ keys: [AdminConfig.Key]) {
        self.keys = keys.map { (Array($0.key.utf8), $0.role) }
    }

    /// The role of the key equal to `token`; `nil` when no key is (an empty token never matches).
    package func role(of token: String) -> AdminConfig.Role? {
        let presented = Array(token.utf8)
        var matched: AdminConfig.Role?
        for key in keys {
            if Self.constantTimeEqual(key.secret, presented), !presented.isEmpty {
                matched = key.role
            }
        }
        return matched
    }

    /// Whether `a` and `b` are equal, comparing every byte of both.
    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            let left = index < a.count ? a[index] : 0
            let right = index < b.count ? b[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
