import Testing

@testable import Gateway

/// Hex helpers for the kTLS tests' vectors.
enum KernelTLSHex {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

@Suite("kTLS key material: TLS 1.3 HKDF-Expand-Label and TLS 1.2 PRF against published vectors")
struct KernelTLSKeysTests {
    typealias Hex = KernelTLSHex

    // RFC 8448 section 3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256): the traffic secrets and the keys and
    // IVs the trace derives from them ("derive write traffic keys for handshake/application data").
    static let rfc8448ServerHandshake = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
    static let rfc8448ServerApplication = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
    static let rfc8448ClientApplication = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"

    @Test(arguments: [
        (rfc8448ServerHandshake, "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"),
        (rfc8448ServerApplication, "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"),
        (rfc8448ClientApplication, "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"),
    ])
    func tls13AES128GCMMatchesRFC8448(secret: String, key: String, iv: String) throws {
        let info = try KernelTLSKeys.tls13(cipher: .aes128GCM, trafficSecret: Hex.bytes(secret), sequence: 0)
        #expect(info.version == .tls13)
        #expect(Hex.string(info.key) == key)
        // The kernel wants the 12-byte IV as salt (4) then iv (8).
        #expect(Hex.string(info.salt) == iv.prefix(8))
        #expect(Hex.string(info.iv) == iv.dropFirst(8))
        #expect(info.sequence == 0)
    }

    @Test func hkdfExpandLabelMatchesRFC8448Directly() {
        let secret = Hex.bytes(Self.rfc8448ServerHandshake)
        let key = KernelTLSKeys.hkdfExpandLabel(secret: secret, label: "key", length: 16, sha384: false)
        #expect(Hex.string(key) == "3fce516009c21727d0f2e4e86ee403bc")
        // RFC 8448 section 3: {server} calculate finished "tls13 finished".
        let finished = KernelTLSKeys.hkdfExpandLabel(secret: secret, label: "finished", length: 32, sha384: false)
        #expect(Hex.string(finished) == "008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8")
    }

    // The Illustrated TLS 1.3 Connection (https://tls13.xargs.org, TLS_AES_256_GCM_SHA384): server and client
    // handshake traffic secrets and the keys and IVs derived from them with SHA-384.
    @Test(arguments: [
        (
            "23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622",
            "9f13575ce3f8cfc1df64a77ceaffe89700b492ad31b4fab01c4792be1b266b7f", "9563bc8b590f671f488d2da3"
        ),
        (
            "db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0",
            "1135b4826a9a70257e5a391ad93093dfd7c4214812f493b3e3daae1eb2b1ac69", "4256d2e0e88babdd05eb2f27"
        ),
    ])
    func tls13AES256GCMUsesSHA384(secret: String, key: String, iv: String) throws {
        let info = try KernelTLSKeys.tls13(cipher: .aes256GCM, trafficSecret: Hex.bytes(secret), sequence: 0)
        #expect(Hex.string(info.key) == key)
        #expect(Hex.string(info.salt) + Hex.string(info.iv) == iv)
    }

    @Test func tls13ChaChaTakesTheWholeIVAndA32ByteKey() throws {
        // RFC 8448's server application secret expanded to 32 bytes: the trace is AES-128-GCM, so this key was
        // computed with the OpenSSL CLI: openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt mode:EXPAND_ONLY
        //   -kdfopt hexkey:<secret> -kdfopt prefix:"tls13 " -kdfopt label:key TLS13-KDF
        let info = try KernelTLSKeys.tls13(
            cipher: .chacha20Poly1305,
            trafficSecret: Hex.bytes(Self.rfc8448ServerApplication),
            sequence: 7
        )
        #expect(Hex.string(info.key) == "848e80ab93efeb09c572c66873c184f99207c95b0fc817f91e8e7e8e14ac5ca9")
        #expect(Hex.string(info.iv) == "cf782b88dd83549aadf1e984")
        #expect(info.salt.isEmpty)
        #expect(info.sequence == 7)
    }

    @Test func tls13RefusesASecretOfTheWrongHashLength() {
        // A SHA-256 secret with an AES-256-GCM (SHA-384) suite: the keylog line and the cipher disagree.
        #expect {
            _ = try KernelTLSKeys.tls13(
                cipher: .aes256GCM,
                trafficSecret: Hex.bytes(Self.rfc8448ServerApplication),
                sequence: 0
            )
        } throws: { error in
            (error as? KernelTLSError)?.code == .keyMaterial
        }
    }

    // The TLS 1.2 PRF vectors posted to the IETF TLS list (https://www.ietf.org/mail-archive/web/tls/current/
    // msg03416.html), label "test label"; both reproduced with `openssl kdf ... TLS1-PRF`.
    @Test func prfSHA256MatchesTheIETFVector() {
        let output = KernelTLSKeys.prf(
            secret: Hex.bytes("9bbe436ba940f017b17652849a71db35"),
            label: "test label",
            seed: Hex.bytes("a0ba9f936cda311827a6f796ffd5198c"),
            length: 100,
            sha384: false
        )
        #expect(
            Hex.string(output)
                == "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
                + "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                + "87347b66"
        )
    }

    @Test func prfSHA384MatchesTheIETFVector() {
        let output = KernelTLSKeys.prf(
            secret: Hex.bytes("b80b733d6ceefcdc71566ea48e5567df"),
            label: "test label",
            seed: Hex.bytes("cd665cf6a8447dd6ff8b27555edb7465"),
            length: 148,
            sha384: true
        )
        #expect(
            Hex.string(output)
                == "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0"
                + "e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
                + "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e099070"
                + "3d73e56f"
        )
    }

    // A TLS 1.2 key expansion: master secret and randoms of a recorded ECDHE session (the key-block test of
    // github.com/JoyLinks/network, TestRPF.java); every key block below recomputed with the OpenSSL CLI:
    //   openssl kdf -keylen <n> -kdfopt digest:<SHA256|SHA384> -kdfopt hexsecret:<master>
    //     -kdfopt hexseed:<hex("key expansion")><server random><client random> -binary TLS1-PRF
    static let master = Hex.bytes(
        "202c88c00f84a17a20027079604787461176455539e705be730890602c289a5001e34eeb3a043e5d52a65e66125188bf"
    )
    static let clientRandom = Hex.bytes("62e1fd91f23f558a605f28478c58cf72637b89784d959df7e946d3f07bd1b616")
    static let serverRandom = Hex.bytes("ae6c806f8ad4d80784549dff28a4b58fd837681a51d928c3e30ee5ff14f39868")

    static func tls12(
        _ cipher: KernelTLSCipher,
        _ role: KernelTLSRole,
        _ direction: KernelTLSDirection,
        sequence: UInt64 = 1
    ) throws -> KernelTLSCryptoInfo {
        try KernelTLSKeys.tls12(
            cipher: cipher,
            masterSecret: master,
            clientRandom: clientRandom,
            serverRandom: serverRandom,
            role: role,
            direction: direction,
            sequence: sequence
        )
    }

    @Test func tls12AES128GCMServerTransmitsWithServerKeysAndReceivesWithClientKeys() throws {
        // Key block (SHA-256, 40 bytes): client key | server key | client IV (4) | server IV (4).
        let transmit = try Self.tls12(.aes128GCM, .server, .transmit, sequence: 0x0102_0304_0506_0708)
        #expect(transmit.version == .tls12)
        #expect(Hex.string(transmit.key) == "d2a2e89506c6f2279b670c3e1b74f531")
        #expect(Hex.string(transmit.salt) == "c51a3a0f")
        // The explicit nonce starts at the record sequence number, as OpenSSL's does.
        #expect(Hex.string(transmit.iv) == "0102030405060708")
        #expect(transmit.sequence == 0x0102_0304_0506_0708)

        let receive = try Self.tls12(.aes128GCM, .server, .receive)
        #expect(Hex.string(receive.key) == "d06139889fffac1e3a71865f504aa5d0")
        #expect(Hex.string(receive.salt) == "016a2530")
        #expect(Hex.string(receive.iv) == "0000000000000001")
    }

    @Test func tls12ClientRoleMirrorsTheServer() throws {
        for cipher in KernelTLSCipher.allCases {
            #expect(try Self.tls12(cipher, .client, .transmit) == Self.tls12(cipher, .server, .receive))
            #expect(try Self.tls12(cipher, .client, .receive) == Self.tls12(cipher, .server, .transmit))
            #expect(try Self.tls12(cipher, .server, .transmit) != Self.tls12(cipher, .server, .receive))
        }
    }

    @Test func tls12AES256GCMUsesTheSHA384PRF() throws {
        // Key block (SHA-384, 72 bytes).
        let transmit = try Self.tls12(.aes256GCM, .server, .transmit)
        #expect(Hex.string(transmit.key) == "8d1197f03b7cfef91d37d6d451a0d710390326a35375d2174cf0cf2aba720485")
        #expect(Hex.string(transmit.salt) == "396a24b8")
        let receive = try Self.tls12(.aes256GCM, .server, .receive)
        #expect(Hex.string(receive.key) == "b84552bae02337724b10e65bbdb999f7310a88373cac4f9362c5768eb986898e")
        #expect(Hex.string(receive.salt) == "8835f8b4")
    }

    @Test func tls12ChaChaTakesA12ByteFixedIV() throws {
        // Key block (SHA-256, 88 bytes), RFC 7905: 12-byte write IVs, no salt.
        let transmit = try Self.tls12(.chacha20Poly1305, .server, .transmit)
        #expect(Hex.string(transmit.key) == "016a2530c51a3a0f7e1d6590d0f0566b2f387f8d11fd4f731cdd572d2eae927f")
        #expect(Hex.string(transmit.iv) == "add6c38445ad9f8c64bf8068")
        #expect(transmit.salt.isEmpty)
        let receive = try Self.tls12(.chacha20Poly1305, .server, .receive)
        #expect(Hex.string(receive.key) == "d06139889fffac1e3a71865f504aa5d0d2a2e89506c6f2279b670c3e1b74f531")
        #expect(Hex.string(receive.iv) == "6f2f81410b25e6960be68985")
    }

    @Test func tls12RefusesShortSecretsAndRandoms() {
        #expect(throws: KernelTLSError.self) {
            _ = try KernelTLSKeys.tls12(
                cipher: .aes128GCM,
                masterSecret: Array(Self.master.prefix(32)),
                clientRandom: Self.clientRandom,
                serverRandom: Self.serverRandom,
                role: .server,
                direction: .transmit,
                sequence: 1
            )
        }
        #expect(throws: KernelTLSError.self) {
            _ = try KernelTLSKeys.tls12(
                cipher: .aes128GCM,
                masterSecret: Self.master,
                clientRandom: Self.clientRandom,
                serverRandom: [],
                role: .server,
                direction: .transmit,
                sequence: 1
            )
        }
    }

    @Test func keyLogLinesPickTheDirectionsSecret() throws {
        let line = "SERVER_TRAFFIC_SECRET_0 " + Hex.string(Self.clientRandom) + " " + Self.rfc8448ServerApplication
        let parsed = try #require(KernelTLSKeyLog(line: line))
        #expect(parsed.label == KernelTLSKeyLog.trafficSecretLabel(role: .server, direction: .transmit))
        #expect(parsed.clientRandom == Self.clientRandom)
        #expect(parsed.secret == Hex.bytes(Self.rfc8448ServerApplication))
        #expect(KernelTLSKeyLog.trafficSecretLabel(role: .server, direction: .receive) == "CLIENT_TRAFFIC_SECRET_0")
        #expect(KernelTLSKeyLog.trafficSecretLabel(role: .client, direction: .transmit) == "CLIENT_TRAFFIC_SECRET_0")
        #expect(KernelTLSKeyLog(line: "CLIENT_RANDOM 00 0g") == nil)
        #expect(KernelTLSKeyLog(line: "CLIENT_RANDOM 001") == nil)
        #expect(KernelTLSKeyLog(line: "CLIENT_RANDOM 0011 AABB")?.secret == [0xaa, 0xbb])
    }
}
