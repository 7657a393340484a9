import AccessLog
import Testing

@testable import Gateway

/// The worker converts a request's method for the access log by raw value
/// (`AccessRecord.Method(rawValue: head.method.rawValue) ?? .other`), so the two enums must list the same
/// methods in the same order: a case added or moved in only one of them would log the wrong method.
@Suite struct HTTPMethodAccessLogTests {
    /// The conversion the worker makes.
    static func logged(_ method: HTTPMethod) -> AccessRecord.Method {
        AccessRecord.Method(rawValue: method.rawValue) ?? .other
    }

    @Test(arguments: HTTPMethod.allCases)
    func everyMethodIsLoggedUnderItsOwnName(_ method: HTTPMethod) {
        #expect(Self.logged(method).name.description == method.name.description)
    }

    @Test func theTwoEnumsAreTheSameSet() {
        #expect(HTTPMethod.allCases.count == AccessRecord.Method.allCases.count)
        #expect(Set(HTTPMethod.allCases.map { Self.logged($0) }).count == AccessRecord.Method.allCases.count)
        #expect(AccessRecord.Method(rawValue: UInt8(HTTPMethod.allCases.count)) == nil)
    }

    @Test(arguments: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])
    func aParsedTokenIsLoggedAsItself(_ token: String) {
        #expect(Self.logged(Self.parse(token)).name.description == token)
    }

    @Test(arguments: ["PROPFIND", "MKCOL", "LINK", "get", "Post", "QUERY"])
    func extensionAndWrongCaseMethodsAreLoggedAsOther(_ token: String) {
        let method = Self.parse(token)
        #expect(method == .other)
        #expect(Self.logged(method) == .other)
        #expect(Self.logged(method).name.description == "OTHER")
    }

    static func parse(_ token: String) -> HTTPMethod {
        var token = token
        return token.withUTF8 { HTTPMethod(parsing: UnsafeRawBufferPointer($0)) }
    }
}
