// libFuzzer target for the HTTP/1.1 code that sees untrusted bytes: the request and response head
// parsers, the proxy head writers fed with what they parsed, and the body framer (plain and
// dechunking) over the rest of the input, split at a fuzzer-chosen point. Built and run by
// `scripts/fuzz` together with `Sources/Gateway/HTTP`; any trap or AddressSanitizer report is a bug.
//
// The first input byte picks the mode: bit 0 request/response, bit 1 GET/HEAD for responses, bit 2
// an HTTP/1.0 client, bit 3 close-after, bit 4 a 64-byte head limit, bits 5-7 where to split the body.

let headers = HTTPHeaderIndex()
let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let mode = data[0]
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let prefix = UnsafeRawBufferPointer(start: data, count: min(size, 32))
    var limits = HTTPLimits()
    if mode & 0x10 != 0 { limits.maxHeaderBytes = 64 }
    var body = input
    var kind = HTTPBodyKind.chunked
    if mode & 1 == 0 {
        if case .complete(let head) = HTTPParser.parseRequestHead(input, headers: headers, limits: limits) {
            precondition(head.headLength <= input.count)
            var writer = HTTPHeadWriter(output)
            _ = HTTPProxyHeads.writeUpstreamRequest(
                head: head,
                source: input,
                headers: headers,
                hostOverride: nil,
                clientAddress: UnsafeRawBufferPointer(rebasing: prefix.prefix(15)),
                proto: "http",
                requestID: prefix,
                into: &writer
            )
            body = UnsafeRawBufferPointer(rebasing: input[head.headLength...])
            kind = head.body
        }
    } else {
        let method: HTTPMethod = mode & 2 == 0 ? .get : .head
        let result = HTTPParser.parseResponseHead(input, headers: headers, requestMethod: method, limits: limits)
        if case .complete(let head) = result {
            precondition(head.headLength <= input.count)
            var writer = HTTPHeadWriter(output)
            _ = HTTPProxyHeads.writeDownstreamResponse(
                head: head,
                source: input,
                headers: headers,
                requestID: prefix,
                clientVersionMinor: mode & 4 == 0 ? 1 : 0,
                closeAfter: mode & 8 != 0,
                into: &writer
            )
            body = UnsafeRawBufferPointer(rebasing: input[head.headLength...])
            kind = head.body
        }
    }
    if case .none = kind { kind = .chunked }
    let split = Int(mode >> 5) * body.count / 8
    for decoding in [false, true] {
        var framer = HTTPBodyFramer(kind, limits: limits)
        var payloadBytes = 0
        for part in [body[..<split], body[split...]] {
            let bytes = UnsafeRawBufferPointer(rebasing: part)
            let result =
                decoding
                ? framer.consumeDecoding(bytes) { payloadBytes += $0.count } : framer.consume(bytes)
            if case .done(let consumed) = result {
                precondition(consumed <= bytes.count)
                break
            }
            if case .invalid = result { break }
        }
        precondition(payloadBytes <= body.count)
    }
    return 0
}
