import Foundation
import TestSupport

/// A throwaway certificate authority and the certificates a test issues with it, made by the openssl CLI
/// in the test's directory (no private key of any value is ever committed).
struct TestCertificates {
    /// A PEM certificate and its key on disk.
    struct Issued {
        var certificate: URL
        var key: URL
        var certificatePEM: String { (try? String(contentsOf: certificate, encoding: .utf8)) ?? "" }
        var keyPEM: String { (try? String(contentsOf: key, encoding: .utf8)) ?? "" }
    }

    enum KeyType {
        case ecdsa
        case rsa

        var arguments: [String] {
            switch self {
            case .ecdsa: return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .rsa: return ["-newkey", "rsa:2048"]
            }
        }
    }

    let directory: URL
    let authority: Issued

    /// Creates a CA named `name` in `directory`.
    static func authority(in directory: URL, name: String = "Gateway Test CA") async throws -> TestCertificates {
        let base = directory.appendingPathComponent(Self.safe(name))
        let issued = Issued(certificate: base.appendingPathExtension("pem"), key: base.appendingPathExtension("key"))
        try await openssl(
            ["req", "-x509"] + KeyType.ecdsa.arguments + [
                "-nodes", "-keyout", issued.key.path, "-out", issued.certificate.path, "-days", "30", "-subj",
                "/CN=\(name)", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            in: directory
        )
        return TestCertificates(directory: directory, authority: issued)
    }

    /// Issues a certificate for `names` (DNS subjectAltNames; the first is also the CN), valid for `days`
    /// from now, or between `notBefore` and `notAfter` (as `YYYYMMDDHHMMSSZ`) to make expired ones.
    func issue(
        _ names: [String],
        key type: KeyType = .ecdsa,
        client: Bool = false,
        days: Int = 20,
        validity: (notBefore: String, notAfter: String)? = nil
    ) async throws -> Issued {
        let base = directory.appendingPathComponent(Self.safe(names[0]) + "-\(UUID().uuidString.prefix(6))")
        let issued = Issued(certificate: base.appendingPathExtension("pem"), key: base.appendingPathExtension("key"))
        let request = base.appendingPathExtension("csr")
        try await Self.openssl(
            ["req"] + type.arguments + [
                "-nodes", "-keyout", issued.key.path, "-out", request.path, "-subj", "/CN=\(names[0])/O=Gateway Tests",
            ],
            in: directory
        )
        let extensions = base.appendingPathExtension("ext")
        var lines = ["basicConstraints=CA:FALSE", "extendedKeyUsage=\(client ? "clientAuth" : "serverAuth")"]
        if !client { lines.append("subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",")) }
        try (lines.joined(separator: "\n") + "\n").writeTestFile(to: extensions)
        if let validity {
            let config = try caConfig(extensions: extensions)
            try await Self.openssl(
                [
                    "ca", "-batch", "-config", config.path, "-cert", authority.certificate.path, "-keyfile",
                    authority.key.path, "-in", request.path, "-out", issued.certificate.path, "-startdate",
                    validity.notBefore, "-enddate", validity.notAfter, "-notext", "-extfile", extensions.path,
                ],
                in: directory
            )
        } else {
            try await Self.openssl(
                [
                    "x509", "-req", "-in", request.path, "-CA", authority.certificate.path, "-CAkey",
                    authority.key.path, "-CAcreateserial", "-days", "\(days)", "-extfile", extensions.path, "-out",
                    issued.certificate.path,
                ],
                in: directory
            )
        }
        return issued
    }

    /// A minimal `openssl ca` configuration (a database of its own per call).
    private func caConfig(extensions: URL) throws -> URL {
        let folder = directory.appendingPathComponent("ca-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "".writeTestFile(to: folder.appendingPathComponent("index.txt"))
        try "01\n".writeTestFile(to: folder.appendingPathComponent("serial"))
        let config = folder.appendingPathComponent("ca.cnf")
        try """
        [ ca ]
        default_ca = test_ca
        [ test_ca ]
        database = \(folder.path)/index.txt
        new_certs_dir = \(folder.path)
        serial = \(folder.path)/serial
        default_md = sha256
        policy = anything
        copy_extensions = none
        [ anything ]
        commonName = supplied
        organizationName = optional

        """.writeTestFile(to: config)
        return config
    }

    @discardableResult
    static func openssl(_ arguments: [String], in directory: URL) async throws -> CommandResult {
        let result = try await Command.run("openssl", arguments, in: directory, timeout: .seconds(60))
        guard result.exitCode == 0 else {
            throw IntegrationError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.log)")
        }
        return result
    }

    private static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
