import CSSL
import Foundation
import TestSupport
import Testing

@testable import Gateway

/// Session-id resumption (TLS 1.2 without tickets) through ``TLSSessionCache`` and upstream name checks,
/// with server and client ``TLSStream``s joined in memory.
@Suite("TLS session cache and upstream names")
struct TLSSessionCacheTests {
    /// A server stream on `set` and a client stream to `address` joined in memory.
    final class Link {
        let server = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)
        let client = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)

        init(set: TLSCertificateSet, caPEM: String, address: String, session: OpaquePointer? = nil) throws {
            var upstream = UpstreamConfig.TLS()
            upstream.caPEM = caPEM
            let context = try TLSClientContext(upstream, settings: TLSSettings(), serverName: nil)
            try #require(TLSStream.start(server, set: set))
            try #require(TLSStream.startClient(client, context: context, address: address))
            if let session { SSL_set_session(client.pointee.ssl, session) }
        }

        deinit {
            // As a connection that breaks off does: no close_notify either way.
            server.pointee.close()
            client.pointee.close()
            server.deallocate()
            client.deallocate()
        }

        private func move(from: UnsafeMutablePointer<TLSStream>, to: UnsafeMutablePointer<TLSStream>) {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while from.pointee.pendingOutput > 0 {
                let count = buffer.withUnsafeMutableBytes { from.pointee.drainOutput(into: $0) }
                _ = buffer.withUnsafeBytes { to.pointee.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
        }

        /// Runs both handshakes; the client's and the server's last steps.
        func handshake() -> (client: TLSStream.HandshakeStep, server: TLSStream.HandshakeStep) {
            var clientStep = TLSStream.HandshakeStep.wantRead
            var serverStep = TLSStream.HandshakeStep.wantRead
            for _ in 0..<10 {
                if client.pointee.phase == .handshaking { clientStep = client.pointee.handshake() }
                move(from: client, to: server)
                if server.pointee.phase == .handshaking { serverStep = server.pointee.handshake() }
                move(from: server, to: client)
                if case .failed = clientStep { break }
                if case .failed = serverStep { break }
                if clientStep == .done && serverStep == .done { break }
            }
            return (clientStep, serverStep)
        }
    }

    static func entry(_ id: String, _ issued: TestCertificates.Issued, snis: [String]) -> SSLConfig {
        var ssl = SSLConfig(id: id)
        ssl.snis = snis
        ssl.certificates = [
            SSLCertificatePair(
                certificatePEM: issued.certificatePEM,
                keyPEM: issued.keyPEM,
                certificateOrigin: id,
                keyOrigin: id
            )
        ]
        return ssl
    }

    /// TLS 1.2 only, no tickets: resumption is by session id from the cache.
    static var cacheOnly: TLSSettings {
        var settings = TLSSettings()
        settings.protocols = [.tls12]
        settings.sessionTickets = false
        settings.defaultSSL = "api"
        return settings
    }

    @Test("The store: lookup by id, expiry, oldest dropped past the capacity, remove")
    func store() {
        let cache = TLSSessionCache()
        cache.capacity = 3
        for index in 0..<5 { cache.store(id: [UInt8(index)], der: [UInt8(index), 9], expires: 100) }
        #expect(cache.count == 3)
        #expect(cache.lookup(id: [0], now: 50) == nil && cache.lookup(id: [1], now: 50) == nil)
        #expect(cache.lookup(id: [4], now: 50) == [4, 9])
        #expect(cache.lookup(id: [4], now: 100) == nil, "expired")
        // Storing an id again refreshes it: it is no longer the oldest.
        cache.store(id: [2], der: [2, 8], expires: 200)
        cache.store(id: [5], der: [5], expires: 200)
        cache.store(id: [6], der: [6], expires: 200)
        #expect(cache.lookup(id: [2], now: 150) == [2, 8])
        #expect(cache.lookup(id: [3], now: 150) == nil)
        cache.remove(id: [2])
        #expect(cache.lookup(id: [2], now: 150) == nil)
        for index in 0..<5000 { cache.store(id: [UInt8(index & 0xFF), UInt8(index >> 8)], der: [], expires: 300) }
        #expect(cache.count == 3)
    }

    @Test(
        "TLS 1.2 without tickets: a session whose connection ended without close_notify resumes, also on a new set (a reload), not after its certificate changed"
    )
    func resumesAcrossReloads() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-session-cache")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try await TestCertificates.authority(in: directory)
        let api = try await certificates.issue(["api.example.com"])
        let renewed = try await certificates.issue(["api.example.com"])
        let caPEM = certificates.authority.certificatePEM
        let entry = Self.entry("api", api, snis: ["api.example.com"])
        let set = try TLSCertificateSet(ssls: [entry], settings: Self.cacheOnly)

        var session: OpaquePointer?
        do {
            let first = try Link(set: set, caPEM: caPEM, address: "api.example.com")
            let steps = first.handshake()
            #expect(steps.client == .done && steps.server == .done)
            #expect(first.client.pointee.protocolLabel == .tls12 && !first.server.pointee.resumed)
            session = SSL_get1_session(first.client.pointee.ssl)
            // `first` is freed here without close_notify, as a client that resets its connection.
        }
        let saved = try #require(session)
        defer { SSL_SESSION_free(saved) }

        for round in 0..<3 {
            let again = try Link(set: set, caPEM: caPEM, address: "api.example.com", session: saved)
            #expect(again.handshake().server == .done)
            #expect(again.server.pointee.resumed, "round \(round)")
        }

        // A reload builds new contexts: the session still resumes.
        let reloaded = try TLSCertificateSet(ssls: [entry], settings: Self.cacheOnly)
        let afterReload = try Link(set: reloaded, caPEM: caPEM, address: "api.example.com", session: saved)
        #expect(afterReload.handshake().server == .done)
        #expect(afterReload.server.pointee.resumed)

        // Another certificate under the same id: a full handshake with it.
        let swapped = try TLSCertificateSet(
            ssls: [Self.entry("api", renewed, snis: ["api.example.com"])],
            settings: Self.cacheOnly
        )
        let afterSwap = try Link(set: swapped, caPEM: caPEM, address: "api.example.com", session: saved)
        #expect(afterSwap.handshake().server == .done)
        #expect(!afterSwap.server.pointee.resumed)
    }

    @Test(
        "Upstream names: a host-name address is sent as SNI and verified; a mismatch fails; IP literals are told apart"
    )
    func upstreamNames() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-upstream-name")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try await TestCertificates.authority(in: directory)
        let api = try await certificates.issue(["api.example.com"])
        let other = try await certificates.issue(["other.example.com"])
        var settings = TLSSettings()
        settings.defaultSSL = "other"
        let set = try TLSCertificateSet(
            ssls: [
                Self.entry("api", api, snis: ["api.example.com"]),
                Self.entry("other", other, snis: ["other.example.com"]),
            ],
            settings: settings
        )
        let caPEM = certificates.authority.certificatePEM

        // The name picks api's certificate by SNI (without SNI the default, other's, would be served).
        let named = try Link(set: set, caPEM: caPEM, address: "api.example.com")
        #expect(named.handshake().client == .done)
        let subject = SSL_get0_peer_certificate(named.client.pointee.ssl).flatMap { X509_get_subject_name($0) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = subject.map { X509_NAME_oneline($0, &buffer, 256) }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(text.contains("api.example.com"), "\(text)")

        // A name the served certificate does not carry: the client refuses it.
        let mismatch = try Link(set: set, caPEM: caPEM, address: "backend.test")
        if case .failed = mismatch.handshake().client {
        } else {
            Issue.record("a certificate for other.example.com was accepted for backend.test")
        }

        #expect(TLSStream.isIPLiteral("127.0.0.1") && TLSStream.isIPLiteral("::1") && TLSStream.isIPLiteral("fe80::1"))
        #expect(!TLSStream.isIPLiteral("localhost") && !TLSStream.isIPLiteral("10.0.0") && !TLSStream.isIPLiteral(""))
    }

    @Test("Viewers' copies of upstreams, routes and services lack tls.client_key; ssls lack key and keys")
    func redaction() throws {
        let upstream: AdminJSON = .object([
            "scheme": .string("https"),
            "tls": .object([
                "client_cert": .string("CERT"), "client_key": .string("KEY"), "client_key_file": .string("/k"),
            ]),
        ])
        let redactedUpstream: AdminJSON = .object([
            "scheme": .string("https"),
            "tls": .object(["client_cert": .string("CERT"), "client_key_file": .string("/k")]),
        ])
        #expect(AdminAPI.redacted(upstream, kind: .upstreams) == redactedUpstream)
        for kind in [AdminResourceKind.routes, .services] {
            let value: AdminJSON = .object(["uri": .string("/x"), "upstream": upstream])
            #expect(
                AdminAPI.redacted(value, kind: kind) == .object(["uri": .string("/x"), "upstream": redactedUpstream])
            )
        }
        let ssl: AdminJSON = .object(["cert": .string("C"), "key": .string("K"), "keys": .array([.string("K2")])])
        #expect(AdminAPI.redacted(ssl, kind: .ssls) == .object(["cert": .string("C")]))
        // Nothing else of a consumer is touched.
        let consumer: AdminJSON = .object(["tls": .object(["client_key": .string("x")])])
        #expect(AdminAPI.redacted(consumer, kind: .consumers) == consumer)
    }

    @Test("Viewers' copies of consumers, credentials and global rules lack the auth plugins' secrets")
    func consumerSecretsAreRedacted() {
        let plugins: AdminJSON = .object([
            "key-auth": .object(["key": .string("k1"), "header": .string("apikey")]),
            "basic-auth": .object(["username": .string("u"), "password": .string("p")]),
            "jwt-auth": .object(["key": .string("user-key"), "secret": .string("s"), "private_key": .string("pk")]),
            "limit-count": .object(["count": .integer(5)]),
        ])
        let expected: AdminJSON = .object([
            "key-auth": .object(["header": .string("apikey")]),
            "basic-auth": .object(["username": .string("u")]),
            "jwt-auth": .object(["key": .string("user-key")]),
            "limit-count": .object(["count": .integer(5)]),
        ])
        for kind in [AdminResourceKind.consumers, .credentials, .globalRules] {
            let value: AdminJSON = .object(["username": .string("jack"), "plugins": plugins])
            #expect(
                AdminAPI.redacted(value, kind: kind) == .object(["username": .string("jack"), "plugins": expected]),
                "\(kind)"
            )
        }
    }
}
