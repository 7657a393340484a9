import Yams

extension ConfigReader {
    static let dataEncryptionKeys = ["enable_encrypt_fields", "enable", "keyring"]

    /// Reads `etcd.data_encryption: {enable_encrypt_fields, keyring}` (APISIX's `apisix.data_encryption`).
    ///
    /// APISIX skips keys of a wrong length in silence; here they are reported, since a key that is silently
    /// dropped would leave ciphertext working as a password.
    mutating func dataEncryption(_ node: Node, into settings: inout EtcdDataEncryption) {
        let path = "etcd.data_encryption"
        guard let section = fields(node, at: path, allowed: Self.dataEncryptionKeys) else { return }
        let flags = ["enable_encrypt_fields", "enable"].compactMap { key in
            section[key].flatMap { value in bool(value, at: "\(path).\(key)").map { (key, $0) } }
        }
        if flags.count == 2, flags[0].1 != flags[1].1 {
            report("\(path).enable", section["enable"], "contradicts \(path).enable_encrypt_fields; give one of them")
        } else if let flag = flags.first {
            settings.enabled = flag.1
        }
        if let value = section["keyring"], let items = list(value, at: "\(path).keyring", allowSingle: true) {
            var keyring: [String] = []
            for item in items {
                guard let key = string(item.node, at: item.path) else { continue }
                guard key.utf8.count == 16 || key.utf8.count == 32 else {
                    report(
                        item.path,
                        item.node,
                        "must be 16 bytes (AES-128-CBC) or 32 bytes (AES-256-CBC), not \(key.utf8.count)"
                    )
                    continue
                }
                keyring.append(key)
            }
            if keyring.count == items.count { settings.keyring = keyring }
        }
        if settings.enabled, settings.keyring.isEmpty {
            report(
                "\(path).keyring",
                section["keyring"] ?? node,
                "needs at least one key while encryption is enabled (or set enable_encrypt_fields: false)"
            )
        }
    }
}
