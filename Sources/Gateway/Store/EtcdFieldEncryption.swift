/// APISIX's encrypted fields in etcd: decrypted when a resource is read, encrypted when this gateway writes one,
/// so that it and APISIX instances on the same etcd read each other's resources.
///
/// - **Plugin fields**: each plugin's `encrypt_fields` (APISIX's plugin schemas) on consumers and credentials,
///   the only resources where the plugins this gateway supports have any: key-auth `key`, basic-auth
///   `password`, jwt-auth `secret` and `private_key`.
/// - **TLS keys**: an `ssls` resource's `key` and `keys[]`, which APISIX stores encrypted unless they are PEM
///   (start with `---`).
///
/// A field that does not decrypt (not base64, or no key opens it) is kept as written, as APISIX keeps it, and
/// reported so it can be logged: a value written in plain text by `etcdctl` keeps working.
package struct EtcdFieldEncryption: Sendable {
    /// `encrypt_fields` by plugin, from APISIX's consumer schemas.
    package static let consumerFields: [String: [String]] = [
        "key-auth": ["key"],
        "basic-auth": ["password"],
        "jwt-auth": ["secret", "private_key"],
    ]

    /// nil when encryption is off: values pass through unchanged.
    let cipher: FieldCipher?

    package init(_ settings: EtcdDataEncryption) {
        cipher = settings.enabled && !settings.keyring.isEmpty ? FieldCipher(keyring: settings.keyring) : nil
    }

    /// Decrypts the encrypted fields of a `kind` resource in place; returns the fields kept as written
    /// ("plugins.key-auth.key").
    package func decrypt(_ kind: AdminResourceKind, _ value: inout AdminJSON) -> [String] {
        guard let cipher else { return [] }
        var failed: [String] = []
        transform(kind, &value) { path, text in
            if kind == .ssls, text.hasPrefix("---") { return text }
            if let plain = cipher.decrypt(text) { return plain }
            failed.append(path)
            return text
        }
        return failed
    }

    /// Encrypts the encrypted fields of a `kind` resource in place (with the keyring's first key).
    package func encrypt(_ kind: AdminResourceKind, _ value: inout AdminJSON) {
        guard let cipher else { return }
        transform(kind, &value) { _, text in
            // APISIX encrypts only PEM TLS keys (anything else is taken as encrypted already).
            if kind == .ssls, !text.hasPrefix("---") { return text }
            return cipher.encrypt(text) ?? text
        }
    }

    /// The JSON text of `json` with its fields encrypted (unchanged when it does not parse).
    package func encrypt(_ kind: AdminResourceKind, json: String) -> String {
        guard cipher != nil, var value = try? AdminJSONParser.parse(json) else { return json }
        encrypt(kind, &value)
        return value.text
    }

    /// Applies `change` to every string field of `value` that APISIX encrypts.
    private func transform(
        _ kind: AdminResourceKind,
        _ value: inout AdminJSON,
        _ change: (_ path: String, _ text: String) -> String
    ) {
        guard case .object(var members) = value else { return }
        switch kind {
        case .consumers, .credentials:
            guard case .object(var plugins) = members["plugins"] else { return }
            for (name, fields) in Self.consumerFields {
                guard case .object(var settings) = plugins[name] else { continue }
                for field in fields {
                    guard case .string(let text) = settings[field] else { continue }
                    settings[field] = .string(change("plugins.\(name).\(field)", text))
                }
                plugins[name] = .object(settings)
            }
            members["plugins"] = .object(plugins)
        case .ssls:
            if case .string(let text) = members["key"] {
                members["key"] = .string(change("key", text))
            }
            if case .array(let keys) = members["keys"] {
                members["keys"] = .array(
                    keys.enumerated().map { index, key in
                        guard case .string(let text) = key else { return key }
                        return .string(change("keys[\(index)]", text))
                    }
                )
            }
        default:
            return
        }
        value = .object(members)
    }
}
