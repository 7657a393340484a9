import Testing

@testable import Gateway

@Suite struct KeyExtractionTests {
    static func cookie(_ name: String, _ header: String) -> String? {
        var name = name
        var header = header
        return name.withUTF8 { nameBytes in
            header.withUTF8 { headerBytes in
                let headerRaw = UnsafeRawBufferPointer(headerBytes)
                guard let value = KeyExtraction.cookie(named: UnsafeRawBufferPointer(nameBytes), in: headerRaw) else {
                    return nil
                }
                // Zero-copy: the value must be a slice of the header buffer.
                if let base = value.baseAddress, let headerBase = headerRaw.baseAddress {
                    precondition(base >= headerBase && base + value.count <= headerBase + headerRaw.count)
                }
                return String(decoding: value, as: UTF8.self)
            }
        }
    }

    @Test(
        arguments: [
            ("sid", "sid=abc", "abc"),
            ("sid", "a=1; sid=abc; b=2", "abc"),
            ("sid", "a=1;sid=abc;b=2", "abc"),
            ("sid", "  a=1 ;\t sid = abc \t; b=2", "abc"),
            ("sid", "a=1; sid=abc", "abc"),
            ("sid", "sid=first; sid=second", "first"),
            ("sid", "sid=", ""),
            ("sid", "sid=  ; b=2", ""),
            ("sid", "sid=\"quoted value\"", "quoted value"),
            ("sid", "sid=\"", "\""),
            ("sid", "sid=a=b", "a=b"),
            ("sid", ";; sid=x;;", "x"),
            ("sid", "flag; sid=x", "x"),
            ("a", "ab=1; a=2", "2"),
            ("ab", "a=1; ab=2", "2"),
        ] as [(String, String, String)]
    )
    func findsCookie(name: String, header: String, value: String) {
        #expect(Self.cookie(name, header) == value)
    }

    @Test(
        arguments: [
            ("sid", ""),
            ("sid", "a=1; b=2"),
            ("sid", "SID=abc"),
            ("sid", "sidx=abc; xsid=abc"),
            ("sid", "sid"),
            ("sid", "sid;"),
            ("", "=abc"),
            ("", "a=1"),
            ("sid", "s=1; id=2"),
        ] as [(String, String)]
    )
    func missingCookieIsNil(name: String, header: String) {
        #expect(Self.cookie(name, header) == nil)
    }
}
