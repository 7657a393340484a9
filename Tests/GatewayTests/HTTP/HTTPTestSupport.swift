import Testing

@testable import Gateway

/// Helpers shared by the HTTP codec tests; tests may allocate freely.
enum HTTPTest {
    static func bytes(_ string: String) -> [UInt8] {
        Array(string.utf8)
    }

    static func parseRequest(
        _ bytes: [UInt8],
        headers: HTTPHeaderIndex = HTTPHeaderIndex(),
        limits: HTTPLimits = HTTPLimits()
    ) -> HTTPHeadResult<HTTPRequestHead> {
        bytes.withUnsafeBytes { HTTPParser.parseRequestHead($0, headers: headers, limits: limits) }
    }

    static func parseResponse(
        _ bytes: [UInt8],
        method: HTTPMethod = .get,
        headers: HTTPHeaderIndex = HTTPHeaderIndex(),
        limits: HTTPLimits = HTTPLimits()
    ) -> HTTPHeadResult<HTTPResponseHead> {
        bytes.withUnsafeBytes {
            HTTPParser.parseResponseHead($0, headers: headers, requestMethod: method, limits: limits)
        }
    }

    static func string(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
        guard let range else { return nil }
        return String(decoding: bytes[range], as: UTF8.self)
    }

    static func requestHead(_ result: HTTPHeadResult<HTTPRequestHead>) -> HTTPRequestHead? {
        if case .complete(let head) = result { return head }
        return nil
    }

    static func responseHead(_ result: HTTPHeadResult<HTTPResponseHead>) -> HTTPResponseHead? {
        if case .complete(let head) = result { return head }
        return nil
    }

    /// All header (name, value) pairs of the last parse, as strings.
    static func fields(_ bytes: [UInt8], _ headers: HTTPHeaderIndex) -> [(String, String)] {
        (0..<headers.count).map { (string(bytes, headers.name($0))!, string(bytes, headers.value($0))!) }
    }

    /// Feeds the framer `bytes` split at `cuts`, returning the total consumed at completion (nil if
    /// it never completed) or the error.
    static func frame(
        _ kind: HTTPBodyKind,
        _ bytes: [UInt8],
        cuts: [Int],
        limits: HTTPLimits = HTTPLimits(),
        decoded: inout [UInt8]
    ) -> Result<Int?, HTTPParseError> {
        var framer = HTTPBodyFramer(kind, limits: limits)
        var offset = 0
        let bounds = cuts + [bytes.count]
        for end in bounds where end >= offset {
            let result = bytes[offset..<end].withUnsafeBytes { piece in
                framer.consumeDecoding(piece) { decoded.append(contentsOf: $0) }
            }
            switch result {
            case .needMore: offset = end
            case .done(let consumed): return .success(offset + consumed)
            case .invalid(let error): return .failure(error)
            }
        }
        return .success(nil)
    }
}
