/// Configured text a plugin sends or compares on the worker: bytes owned by the plugin instance for
/// the life of its plan, so reading them costs no reference counting.
package final class PluginText: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer

    /// `text` as UTF-8.
    package init(_ text: String) {
        let bytes = Array(text.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        count = bytes.count
    }

    /// `text` escaped for a JSON string (a rejection message from the configuration).
    package convenience init(jsonEscaping text: String) {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default:
                if scalar.value < 0x20 {
                    escaped += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        self.init(escaped)
    }

    deinit {
        storage.deallocate()
    }

    /// Byte count.
    package let count: Int

    /// The bytes.
    @inline(__always)
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.baseAddress, count: count) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
