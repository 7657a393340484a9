import Testing

@testable import Gateway

@Suite struct RequestIDGeneratorTests {
    @Test func writesDistinctLowercaseHexIDs() {
        var generator = RequestIDGenerator(worker: 0)
        var seen = Set<String>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 1)
        defer { buffer.deallocate() }
        for _ in 0..<10_000 {
            generator.write(to: buffer.baseAddress!)
            let id = String(decoding: buffer, as: UTF8.self)
            #expect(id.count == 32)
            #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
