import Crypto
import Foundation
import Testing

@testable import Gateway

@Suite("Status page: self-contained under its Content-Security-Policy")
struct StatusPageTests {
    /// The text between `open` and `close` in the page.
    static func block(_ open: String, _ close: String) throws -> String {
        let html = StatusPage.html
        let start = try #require(html.range(of: open))
        let end = try #require(html[start.upperBound...].range(of: close))
        return String(html[start.upperBound..<end.lowerBound])
    }

    static func hash(_ text: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Array(text.utf8))).base64EncodedString() + "'"
    }

    @Test("the policy allows exactly the page's inline style and script by hash, and nothing external")
    func policyMatchesTheInlineBlocks() throws {
        let policy = StatusPage.contentSecurityPolicy
        #expect(policy.contains("default-src 'none'"))
        #expect(policy.contains("script-src \(Self.hash(try Self.block("<script>", "</script>")));"))
        #expect(policy.contains("style-src \(Self.hash(try Self.block("<style>", "</style>")));"))
        #expect(policy.contains("connect-src 'self'"))
        #expect(!policy.contains("unsafe-inline"))
        let html = StatusPage.html
        #expect(html.components(separatedBy: "<script").count == 2, "one script block")
        #expect(html.components(separatedBy: "<style").count == 2, "one style block")
        for attribute in ["src=", "href="] {
            var rest = Substring(html)
            while let found = rest.range(of: attribute) {
                let value = rest[found.upperBound...].dropFirst().prefix { $0 != "\"" }
                #expect(value.hasPrefix("data:"), "\(attribute)\(value) is not inline")
                rest = rest[found.upperBound...]
            }
        }
        // Inline event handlers would be blocked by the policy.
        #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)
    }

    @Test("GET / answers the page with the policy; the script polls /status/traffic")
    func servedByTheControlPlane() {
        let response = StatusPage.response
        #expect(response.status == 200)
        #expect(response.contentType == "text/html; charset=utf-8")
        #expect(response.headers.contains { $0.name == "Content-Security-Policy" && $0.value.contains("sha256-") })
        #expect(StatusPage.script.contains("fetch(\"/status/traffic\""))
        #expect(StatusPage.script.contains("setInterval(tick, 1000)"))
    }
}
