import Testing

@testable import Gateway

/// Deterministic SplitMix64, so a failing input can be reproduced from its iteration number.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HTTPFuzzTests {
    private static let seeds: [[UInt8]] =
        validRequests.map(\.raw) + [
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n".utf8),
            Array("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nabc".utf8),
        ]
    private static let alphabet = Array(
        "GET /HTP1.0\r\n:;, \t-chunkedContent-LengthTransfer-Encoding0123456789abcdef%2e".utf8
    )

    private func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[index] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.insert(Self.alphabet.randomElement(using: &rng)!, at: index)
            case 2 where !bytes.isEmpty: bytes.remove(at: index)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, index + Int.random(in: 1...12, using: &rng))
                bytes.insert(contentsOf: bytes[index..<end], at: index)
            case 4 where !bytes.isEmpty:
                bytes[index] = [0x0D, 0x0A, 0x20, 0x3A, 0x00, 0x09].randomElement(using: &rng)!
            default: bytes.append(Self.alphabet.randomElement(using: &rng)!)
            }
        }
        return bytes
    }

    private func checkRequest(_ bytes: [UInt8], headers: HTTPHeaderIndex, cut: Int) {
        let result = HTTPTest.parseRequest(bytes, headers: headers)
        switch result {
        case .incomplete:
            break
        case .invalid(let error):
            #expect([400, 414, 431, 501, 505].contains(error.status))
        case .complete(let head):
            #expect(head.headLength <= bytes.count)
            #expect(head.targetRange.upperBound <= head.headLength)
            for i in 0..<headers.count {
                #expect(headers.name(i).upperBound <= head.headLength && headers.value(i).upperBound <= head.headLength)
            }
            #expect(head.body != .closeDelimited)
        }
        // Feeding a prefix first must never turn an eventual result into a different one.
        let prefix = HTTPTest.parseRequest(Array(bytes[..<min(cut, bytes.count)]), headers: headers)
        switch (prefix, result) {
        case (.incomplete, _): break
        case (.invalid(let early), .invalid(let late)): #expect(early == late)
        case (.complete(let early), .complete(let late)): #expect(early == late)
        default: Issue.record("prefix gave \(prefix), whole gave \(result) for \(bytes)")
        }
    }

    private func checkResponse(_ bytes: [UInt8], headers: HTTPHeaderIndex) {
        for method in [HTTPMethod.get, .head] {
            switch HTTPTest.parseResponse(bytes, method: method, headers: headers) {
            case .incomplete: break
            case .invalid(let error): #expect(error.status == 502)
            case .complete(let head):
                #expect(head.headLength <= bytes.count && (100...599).contains(head.status))
            }
        }
    }

    private func checkFramer(_ bytes: [UInt8], cut: Int) {
        for kind in [HTTPBodyKind.chunked, .contentLength(Int64(cut)), .closeDelimited] {
            var decoded: [UInt8] = []
            switch HTTPTest.frame(kind, bytes, cuts: [min(cut, bytes.count)], decoded: &decoded) {
            case .success(let consumed?): #expect(consumed <= bytes.count && decoded.count <= consumed)
            case .success(nil): #expect(decoded.count <= bytes.count)
            case .failure(let error): #expect(error.status == 400)
            }
        }
    }

    @Test func mutatedAndRandomInputsNeverCrash() {
        var rng = SplitMix64(state: 0x5EED)
        let headers = HTTPHeaderIndex()
        for iteration in 0..<4000 {
            let bytes: [UInt8]
            if iteration % 4 == 0 {
                bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in
                    Bool.random(using: &rng)
                        ? Self.alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                }
            } else {
                bytes = mutate(Self.seeds.randomElement(using: &rng)!, using: &rng)
            }
            let cut = Int.random(in: 0...max(bytes.count, 1), using: &rng)
            checkRequest(bytes, headers: headers, cut: cut)
            checkResponse(bytes, headers: headers)
            checkFramer(bytes, cut: cut)
        }
    }
}
