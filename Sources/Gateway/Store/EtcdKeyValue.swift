import Foundation

/// One key in etcd with its value and revisions (`mvccpb.KeyValue`).
package struct EtcdKeyValue: Sendable, Equatable {
    package var key: String
    package var value: [UInt8]
    /// The revision that created the key (0: absent).
    package var createRevision: Int64
    /// The revision of its last change.
    package var modRevision: Int64
    /// How many times it was written since it was created.
    package var version: Int64

    package init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
    }

    /// A key-value from the gateway's JSON (`key`, `value` in base64; revisions as strings).
    init(json: AdminJSON) throws(EtcdError) {
        guard let key = json["key"]?.string.flatMap(EtcdCoding.decode) else {
            throw EtcdError(.protocolViolation, "a key-value without a base64 key")
        }
        self.key = String(decoding: key, as: UTF8.self)
        value = json["value"]?.string.flatMap(EtcdCoding.decode) ?? []
        createRevision = EtcdCoding.int64(json["create_revision"])
        modRevision = EtcdCoding.int64(json["mod_revision"])
        version = EtcdCoding.int64(json["version"])
    }
}

/// The JSON gateway's encodings: bytes as base64, 64-bit integers as strings.
enum EtcdCoding {
    static func encode(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func decode(_ base64: String) -> [UInt8]? { Data(base64Encoded: base64).map { Array($0) } }

    /// An int64 field: a string of digits, a number, or absent (0, proto3's default).
    static func int64(_ json: AdminJSON?) -> Int64 {
        switch json {
        case .string(let text)?: return Int64(text) ?? 0
        case .number(let text)?: return Int64(text) ?? 0
        default: return 0
        }
    }

    /// The key just past every key starting with `prefix` (etcd's `GetPrefixRangeEnd`).
    static func rangeEnd(ofPrefix prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }
}
