// libFuzzer target for `gateway logs tail`'s line parser: any bytes read from a log file are parsed
// as a JSON or logfmt line, re-rendered in every format and filtered. Built and run by
// `scripts/fuzz SECONDS logline` together with `Sources/AccessLog`; any trap is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = AccessLogLine(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    for format in AccessLogFormat.allCases {
        _ = line.rendered(as: format)
    }
    if let first = line.fields.first {
        _ = line.matches(key: first.key, expected: "1")
    }
    return 0
}
