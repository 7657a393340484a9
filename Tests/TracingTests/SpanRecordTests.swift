import Testing
import Tracing

@Suite struct SpanRecordTests {
    @Test func textIsStoredAndCutAtAUTF8Boundary() {
        var record = SpanRecord()
        Array("/orders/42".utf8).withUnsafeBytes { record.setPath($0) }
        Array("orders".utf8).withUnsafeBytes { record.setRoute($0) }
        #expect(record.withPath { String(decoding: $0, as: UTF8.self) } == "/orders/42")
        #expect(record.withRoute { String(decoding: $0, as: UTF8.self) } == "orders")
        // 31 ASCII bytes then a 2-byte character: the capacity (32) falls inside it, so it is dropped whole.
        let long = String(repeating: "a", count: 31) + "é" + "tail"
        Array(long.utf8).withUnsafeBytes { record.setErrorType($0) }
        #expect(record.withErrorType { String(decoding: $0, as: UTF8.self) } == String(repeating: "a", count: 31))
        record.traceIDHigh = 0x0af7_6519_16cd_43dd
        record.traceIDLow = 0x8448_eb21_1c80_319c
        record.spanID = 0xb7ad_6b71_6920_3331
        #expect(record.traceIDHex == "0af7651916cd43dd8448eb211c80319c")
        #expect(record.spanIDHex == "b7ad6b7169203331")
        record.reset()
        #expect(record.withPath { $0.count } == 0 && record.spanID == 0)
    }
}
