import CSSL
import Foundation
import TestSupport
import Testing

@testable import Gateway

/// The gateway's TLS layer without sockets: a server ``TLSStream`` on a ``TLSCertificateSet`` and a client
/// ``TLSStream`` on a ``TLSClientContext``, their records moved between them in memory as the engine
/// would move them between sockets.
@Suite("TLS streams in memory")
struct TLSStreamTests {
    /// Certificates for `api.example.com` and `*.example.com` from a fresh test CA.
    struct Material {
        let certificates: TestCertificates
        let set: TLSCertificateSet
        let caPEM: String
    }

    static func material(defaultSSL: String? = "api", directory: URL) async throws -> Material {
        let certificates = try await TestCertificates.authority(in: directory)
        let api = try await certificates.issue(["api.example.com"])
        let wildcard = try await certificates.issue(["*.example.com"], key: .rsa)
        var apiSSL = SSLConfig(id: "api")
        apiSSL.snis = ["api.example.com"]
        apiSSL.certificates = [
            SSLCertificatePair(
                certificatePEM: api.certificatePEM,
                keyPEM: api.keyPEM,
                certificateOrigin: "a",
                keyOrigin: "a"
            )
        ]
        var wildSSL = SSLConfig(id: "wild")
        wildSSL.snis = ["*.example.com"]
        wildSSL.certificates = [
            SSLCertificatePair(
                certificatePEM: wildcard.certificatePEM,
                keyPEM: wildcard.keyPEM,
                certificateOrigin: "w",
                keyOrigin: "w"
            )
        ]
        var settings = TLSSettings()
        settings.defaultSSL = defaultSSL
        let set = try TLSCertificateSet(ssls: [apiSSL, wildSSL], settings: settings)
        return Material(certificates: certificates, set: set, caPEM: certificates.authority.certificatePEM)
    }

    /// A server and a client stream joined in memory.
    final class Pair {
        let server = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)
        let client = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)

        init(_ material: Material, serverName: String?, session: OpaquePointer? = nil) throws {
            var upstream = UpstreamConfig.TLS()
            upstream.caPEM = material.caPEM
            upstream.sni = serverName
            let context = try TLSClientContext(upstream, settings: TLSSettings(), serverName: serverName)
            try #require(TLSStream.start(server, set: material.set))
            try #require(TLSStream.startClient(client, context: context, address: "127.0.0.1"))
            if let session { SSL_set_session(client.pointee.ssl, session) }
        }

        deinit {
            server.pointee.close()
            client.pointee.close()
            server.deallocate()
            client.deallocate()
        }

        /// Moves what `from` has to send into `to`.
        func move(from: UnsafeMutablePointer<TLSStream>, to: UnsafeMutablePointer<TLSStream>) -> Int {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var moved = 0
            while from.pointee.pendingOutput > 0 {
                let count = buffer.withUnsafeMutableBytes { from.pointee.drainOutput(into: $0) }
                _ = buffer.withUnsafeBytes { to.pointee.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                moved += count
            }
            return moved
        }

        /// Runs both handshakes; the server's result.
        func handshake() -> TLSStream.HandshakeStep {
            var serverStep = TLSStream.HandshakeStep.wantRead
            for _ in 0..<10 {
                _ = client.pointee.handshake()
                _ = move(from: client, to: server)
                serverStep = server.pointee.handshake()
                _ = move(from: server, to: client)
                if serverStep != .wantRead && client.pointee.phase == .established { break }
                if case .failed = serverStep { break }
            }
            return serverStep
        }

        func send(_ text: String, from: UnsafeMutablePointer<TLSStream>, to: UnsafeMutablePointer<TLSStream>) -> String
        {
            _ = Array(text.utf8).withUnsafeBytes { from.pointee.write($0) }
            _ = move(from: from, to: to)
            var buffer = [UInt8](repeating: 0, count: 65536)
            var received = ""
            while true {
                let result = buffer.withUnsafeMutableBytes { to.pointee.read(into: $0) }
                guard case .bytes(let count) = result else { break }
                received += String(decoding: buffer.prefix(count), as: UTF8.self)
            }
            return received
        }
    }

    @Test("A full handshake, a request and a response each way, SNI picking the certificate, close_notify")
    func roundTrip() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-stream")
        defer { try? FileManager.default.removeItem(at: directory) }
        let material = try await Self.material(directory: directory)
        for name in ["api.example.com", "shop.example.com"] {
            let pair = try Pair(material, serverName: name)
            #expect(pair.handshake() == .done, "\(name)")
            #expect(pair.client.pointee.phase == .established, "the client verified \(name) against the CA")
            #expect(pair.server.pointee.protocolLabel == .tls13)
            #expect(pair.server.pointee.cipherName.map { String(cString: $0) } == "TLS_AES_128_GCM_SHA256")
            let request = "GET / HTTP/1.1\r\nHost: \(name)\r\n\r\n"
            #expect(pair.send(request, from: pair.client, to: pair.server) == request)
            let body = String(repeating: "x", count: 40000)
            #expect(pair.send(body, from: pair.server, to: pair.client) == body, "several records")
            pair.server.pointee.shutdown()
            _ = pair.move(from: pair.server, to: pair.client)
            var buffer = [UInt8](repeating: 0, count: 1024)
            #expect(buffer.withUnsafeMutableBytes { pair.client.pointee.read(into: $0) } == .closed)
        }
    }

    @Test("A ticket from the first handshake resumes the second; the server stream says so")
    func resumption() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-stream-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let material = try await Self.material(directory: directory)
        let first = try Pair(material, serverName: "api.example.com")
        #expect(first.handshake() == .done)
        // The ticket arrives after the handshake, with the first application data.
        #expect(first.send("hello", from: first.server, to: first.client) == "hello")
        let session = try #require(SSL_get1_session(first.client.pointee.ssl))
        defer { SSL_SESSION_free(session) }
        #expect(!first.server.pointee.resumed)
        let second = try Pair(material, serverName: "api.example.com", session: session)
        #expect(second.handshake() == .done)
        #expect(second.server.pointee.resumed)
    }

    @Test("Handshake failures are classified: plain HTTP, garbage, an unknown name without a default")
    func failures() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-stream-fail")
        defer { try? FileManager.default.removeItem(at: directory) }
        let material = try await Self.material(directory: directory)
        let cases: [([UInt8], TLSHandshakeResult)] = [
            (Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), .plainHTTP),
            (Array(repeating: 0x42, count: 64), .protocolError),
        ]
        for (bytes, expected) in cases {
            let server = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)
            defer {
                server.pointee.close()
                server.deallocate()
            }
            try #require(TLSStream.start(server, set: material.set))
            _ = bytes.withUnsafeBytes { server.pointee.feed($0) }
            #expect(server.pointee.handshake() == .failed(expected))
        }
        let strict = try await Self.material(defaultSSL: nil, directory: directory)
        let pair = try Pair(strict, serverName: "other.test")
        #expect(pair.handshake() == .failed(.noCertificate))
        #expect(pair.server.pointee.protocolLabel == .unknown)
    }

    @Test("SNI lookup: exact, wildcard for one label, case and trailing dot ignored, then the default")
    func sniLookup() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("tls-stream-sni")
        defer { try? FileManager.default.removeItem(at: directory) }
        let set = try await Self.material(directory: directory).set
        #expect(set.entry(for: "api.example.com") == 0)
        #expect(set.entry(for: "API.Example.com.") == 0)
        #expect(set.entry(for: "shop.example.com") == 1)
        #expect(set.entry(for: "a.b.example.com") == 0, "a wildcard covers one label: the default serves")
        #expect(set.entry(for: nil) == 0)
        #expect(set.entry(for: "example.com") == 0)
    }

    @Test("Ticket keys: the same within an hour on every worker, different the next hour")
    func ticketKeys() {
        let now = Int64(Date().timeIntervalSince1970)
        let period = TLSTicketKeys.period(unixSeconds: now)
        let a = TLSTicketKeys.keys(period: period)
        let b = TLSTicketKeys.keys(period: period)
        let next = TLSTicketKeys.keys(period: period + 1)
        #expect(a.name == b.name && a.cipher == b.cipher && a.mac == b.mac)
        #expect(a.name != next.name && a.cipher != next.cipher && a.mac != next.mac)
        #expect(a.name.count == 16 && a.cipher.count == 32 && a.mac.count == 32)
        #expect(Set([a.name, a.cipher, a.mac].map { Data($0) }).count == 3, "independent keys")
        #expect(TLSTicketKeys.period(unixSeconds: 7199) == 1 && TLSTicketKeys.period(unixSeconds: 7200) == 2)
    }
}
