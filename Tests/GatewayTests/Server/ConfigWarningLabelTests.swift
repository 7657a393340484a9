import Foundation
import Testing

@testable import Gateway

/// Warnings of a configuration the Admin API's resources were merged into name those resources as the
/// Admin API does ("ssls/api: cert"), and the file's own entries by their key path.
@Suite struct ConfigWarningLabelTests {
    @Test func anAdminAPICertificateIsNamedAsItsResource() async throws {
        try await TLSConfigTests.withCertificates("admin-ssl-warning") { certificates in
            let expired = try await certificates.issue(
                ["old.example.com"],
                validity: (notBefore: "20200101000000Z", notAfter: "20200201000000Z")
            )
            let fresh = try await certificates.issue(["fresh.example.com"], days: 20)
            let file = """
                routes: [{id: api, uri: /api/*, upstream: {nodes: {"127.0.0.1:9": 1}}}]
                ssls:
                  - {id: file, snis: [old.example.com], cert_file: "\(expired.certificate.path)", key_file: "\(expired.key.path)"}
                  - {id: fresh, snis: [fresh.example.com], cert_file: "\(fresh.certificate.path)", key_file: "\(fresh.key.path)"}
                """
            let body: [String: Any] = [
                "id": "admin", "snis": ["admin.example.com"], "cert": expired.certificatePEM, "key": expired.keyPEM,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            var resources = ResourceSet()
            resources[.ssls, "admin"] = StoredResource(
                kind: .ssls,
                id: "admin",
                json: json,
                createdIndex: 1,
                modifiedIndex: 1
            )
            let source = try ConfigLoader.source(yaml: file, sourceName: "labels", environment: [:])
            let config = try ConfigLoader.read(
                source,
                overlay: ConfigReloader.overlay(resources),
                environment: [:],
                resolveHostnames: false
            )
            #expect(config.ssls.map(\.id) == ["file", "fresh", "admin"])
            let warnings = ConfigReloader.labelled(config.warnings, in: config, resources: resources)
            #expect(warnings.map(\.path) == ["ssls[0].cert_file", "ssls/admin: cert"], "\(warnings)")
            #expect(warnings.allSatisfy { $0.reason == "certificate expired on 2020-02-01T00:00:00Z (not after)" })
            // The file's entry keeps its line; the Admin API's has none.
            #expect(warnings.first?.line == 3 && warnings.last?.line == nil, "\(warnings)")
            // Without the resource the same entry is named by its place.
            let plain = ConfigReloader.labelled(config.warnings, in: config, resources: ResourceSet())
            #expect(Set(plain.map(\.path)) == ["ssls[0].cert_file", "ssls[2].cert"], "\(plain)")
        }
    }
}
