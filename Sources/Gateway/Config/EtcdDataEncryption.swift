/// APISIX's encryption of sensitive plugin fields in etcd (`etcd.data_encryption`, APISIX's
/// `apisix.data_encryption`): which keys decrypt what other instances wrote, and whether this gateway encrypts
/// what it writes.
///
/// Enabled by default with APISIX's default keyring, as APISIX 3 is, so an out-of-the-box APISIX etcd works.
/// The keys are secrets: never logged or shown.
package struct EtcdDataEncryption: Sendable, Equatable {
    /// APISIX's default `apisix.data_encryption.keyring`.
    package static let apisixKeyring = ["qeddd145sfvddff3", "edd1c9f0985e76a2"]

    /// Whether fields are decrypted on reading and encrypted on writing (`enable_encrypt_fields`, alias
    /// `enable`; default true).
    package var enabled = true
    /// The keys, 16 bytes (AES-128-CBC) or 32 bytes (AES-256-CBC) each: writes use the first, reads try each in
    /// turn (`keyring`).
    package var keyring: [String] = Self.apisixKeyring

    package init() {}

    package init(enabled: Bool, keyring: [String]) {
        self.enabled = enabled
        self.keyring = keyring
    }
}
