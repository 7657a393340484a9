import Foundation
import TestSupport
import Testing

@testable import Gateway

/// Which fields of a resource in etcd are encrypted, and how `etcd.data_encryption` is read.
@Suite struct EtcdFieldEncryptionTests {
    static func json(_ text: String) throws -> AdminJSON {
        try AdminJSONParser.parse(text)
    }

    @Test func decryptsTheEncryptedFieldsOfConsumersAndCredentialsOnly() async throws {
        let key = try await FieldCipherTests.openssl("jack-key", key: "edd1c9f0985e76a2")
        let password = try await FieldCipherTests.openssl("pw", key: "qeddd145sfvddff3")
        let encryption = EtcdFieldEncryption(EtcdDataEncryption())
        var consumer = try Self.json(
            #"{"username":"jack","plugins":{"key-auth":{"key":"\#(key)"},"basic-auth":{"username":"jack","password":"\#(password)"},"jwt-auth":{"key":"k","secret":"written-in-plain"},"limit-count":{"key":"\#(key)"}}}"#
        )
        let kept = encryption.decrypt(.consumers, &consumer)
        #expect(consumer["plugins"]?["key-auth"]?["key"]?.string == "jack-key")
        #expect(consumer["plugins"]?["basic-auth"]?["password"]?.string == "pw")
        #expect(consumer["plugins"]?["basic-auth"]?["username"]?.string == "jack")
        // Kept as written, as APISIX keeps a field that does not decrypt.
        #expect(consumer["plugins"]?["jwt-auth"]?["secret"]?.string == "written-in-plain")
        #expect(kept == ["plugins.jwt-auth.secret"])
        // Not an encrypted field of limit-count.
        #expect(consumer["plugins"]?["limit-count"]?["key"]?.string == key)

        var credential = try Self.json(#"{"plugins":{"key-auth":{"key":"\#(key)"}}}"#)
        #expect(encryption.decrypt(.credentials, &credential).isEmpty)
        #expect(credential["plugins"]?["key-auth"]?["key"]?.string == "jack-key")

        var route = try Self.json(#"{"uri":"/","plugins":{"key-auth":{"key":"\#(key)"}}}"#)
        let before = route
        #expect(encryption.decrypt(.routes, &route).isEmpty)
        #expect(route == before)
    }

    @Test func encryptsOnWritingSoThatAPISIXReadsIt() async throws {
        let encryption = EtcdFieldEncryption(EtcdDataEncryption())
        let written = encryption.encrypt(
            .consumers,
            json: #"{"username":"jack","plugins":{"key-auth":{"key":"jack-key"}}}"#
        )
        let stored = try Self.json(written)
        let expected = try await FieldCipherTests.openssl("jack-key", key: "qeddd145sfvddff3")
        #expect(stored["plugins"]?["key-auth"]?["key"]?.string == expected)
        var back = stored
        #expect(encryption.decrypt(.consumers, &back).isEmpty)
        #expect(back["plugins"]?["key-auth"]?["key"]?.string == "jack-key")
    }

    @Test func tlsKeysInPEMStayAndEncryptedOnesAreDecrypted() async throws {
        let pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"
        let encrypted = try await FieldCipherTests.openssl(pem, key: "edd1c9f0985e76a2")
        let encryption = EtcdFieldEncryption(EtcdDataEncryption())
        var ssl = AdminJSON.object([
            "cert": .string("-----BEGIN CERTIFICATE-----"), "key": .string(encrypted),
            "keys": .array([.string(pem), .string(encrypted)]),
        ])
        #expect(encryption.decrypt(.ssls, &ssl).isEmpty)
        #expect(ssl["key"]?.string == pem)
        #expect(ssl["keys"] == .array([.string(pem), .string(pem)]))
        var written = ssl
        encryption.encrypt(.ssls, &written)
        #expect(written["key"]?.string == (try await FieldCipherTests.openssl(pem, key: "qeddd145sfvddff3")))
        #expect(written["cert"]?.string == "-----BEGIN CERTIFICATE-----")
    }

    @Test func disabledLeavesEverythingAsWritten() async throws {
        let key = try await FieldCipherTests.openssl("jack-key", key: "edd1c9f0985e76a2")
        let encryption = EtcdFieldEncryption(EtcdDataEncryption(enabled: false, keyring: ["edd1c9f0985e76a2"]))
        let text = #"{"plugins":{"key-auth":{"key":"\#(key)"}}}"#
        var consumer = try Self.json(text)
        #expect(encryption.decrypt(.consumers, &consumer).isEmpty)
        #expect(consumer == (try Self.json(text)))
        #expect(encryption.encrypt(.consumers, json: #"{"plugins":{"key-auth":{"key":"k"}}}"#).contains(#""k""#))
    }

    static func settings(_ yaml: String) throws(ConfigError) -> EtcdSettings {
        try ConfigLoader.parse(
            yaml: "routes: []\nconfig: {store: etcd}\netcd:\n" + yaml,
            sourceName: "test",
            environment: [:],
            resolveHostnames: false
        ).etcd
    }

    static func issues(_ yaml: String) -> [String] {
        do {
            _ = try settings(yaml)
            return []
        } catch {
            return error.issues.map { "\($0.path): \($0.reason)" }
        }
    }

    @Test func theSettingsDefaultToAPISIXsAndReadItsKeys() throws {
        #expect(try Self.settings("  prefix: /apisix\n").dataEncryption == EtcdDataEncryption())
        #expect(EtcdDataEncryption().enabled)
        #expect(EtcdDataEncryption().keyring == ["qeddd145sfvddff3", "edd1c9f0985e76a2"])
        let custom = try Self.settings(
            "  data_encryption: {enable_encrypt_fields: true, keyring: [edd1c9f0985e76a2edd1c9f0985e76a2]}\n"
        )
        #expect(custom.dataEncryption.keyring == ["edd1c9f0985e76a2edd1c9f0985e76a2"])
        #expect(try Self.settings("  data_encryption: {enable: false}\n").dataEncryption.enabled == false)
        let single = try Self.settings("  data_encryption: {keyring: abcdefghijklmnop}\n")
        #expect(single.dataEncryption.keyring == ["abcdefghijklmnop"])
    }

    @Test func badSettingsAreReported() {
        let short = Self.issues("  data_encryption: {keyring: [edd1c9f0985e76a2, short]}\n")
        #expect(short.count == 1 && short[0].hasPrefix("etcd.data_encryption.keyring[1]: must be 16 bytes"), "\(short)")
        let empty = Self.issues("  data_encryption: {keyring: []}\n")
        #expect(empty.count == 1 && empty[0].hasPrefix("etcd.data_encryption.keyring: needs at least one key"))
        #expect(Self.issues("  data_encryption: {enable: false, keyring: []}\n").isEmpty)
        let contradicting = Self.issues("  data_encryption: {enable: false, enable_encrypt_fields: true}\n")
        #expect(contradicting.count == 1 && contradicting[0].hasPrefix("etcd.data_encryption.enable: contradicts"))
        let unknown = Self.issues("  data_encryption: {keyrings: []}\n")
        #expect(unknown.count == 1 && unknown[0].hasPrefix("etcd.data_encryption.keyrings: unknown key"), "\(unknown)")
    }
}
