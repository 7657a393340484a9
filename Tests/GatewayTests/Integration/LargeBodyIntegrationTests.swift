import Foundation
import TestSupport
import Testing

/// 100 MB bodies both ways with the gateway's resident memory sampled throughout.
@Suite("Integration: 100 MB bodies with bounded memory")
struct LargeBodyIntegrationTests {
    static let size = 100 * 1024 * 1024
    /// The gateway must stream, not buffer: its RSS stays under this during a 100 MB transfer.
    static let rssLimitKiB = 64 * 1024

    /// A 100 MB random file and its SHA-256.
    static func makePayload(in directory: URL) async throws -> (URL, String) {
        let file = directory.appendingPathComponent("payload-100m")
        let made = try await Command.run(
            "sh",
            ["-c", "head -c \(size) /dev/urandom > '\(file.path)' && sha256sum '\(file.path)'"],
            in: directory
        )
        guard made.exitCode == 0, let digest = made.stdout.split(separator: " ").first else {
            throw IntegrationError("could not make the payload: \(made.log)")
        }
        return (file, String(digest))
    }

    @Test("100 MB Content-Length upload streams through with bounded RSS")
    func upload() async throws {
        try await withProxy("upload-100m") { gateway, _, directory in
            let (file, digest) = try await Self.makePayload(in: directory)
            let sampler = ResidentSetSampler(pid: gateway.pid)
            let result = try await Curl.run("\(gateway.url)/upload", ["-X", "POST", "-T", file.path], in: directory)
            let peak = await sampler.stop()
            #expect(result.status == 200, "\(result.stderr)")
            let json = try result.jsonObject()
            #expect(json["bytes"] as? Int == Self.size)
            #expect(json["sha256"] as? String == digest)
            #expect(peak > 0)
            #expect(peak < Self.rssLimitKiB, "gateway peak RSS \(peak) KiB during a 100 MB upload")
        }
    }

    @Test("100 MB chunked upload streams through with bounded RSS")
    func chunkedUpload() async throws {
        try await withProxy("upload-chunked-100m") { gateway, _, directory in
            let (file, digest) = try await Self.makePayload(in: directory)
            let sampler = ResidentSetSampler(pid: gateway.pid)
            let result = try await Curl.run(
                "\(gateway.url)/upload",
                ["-X", "POST", "-H", "Transfer-Encoding: chunked", "-T", "-"],
                in: directory,
                stdinFile: file
            )
            let peak = await sampler.stop()
            #expect(result.status == 200, "\(result.stderr)")
            let json = try result.jsonObject()
            #expect(json["bytes"] as? Int == Self.size)
            #expect(json["sha256"] as? String == digest)
            #expect(peak < Self.rssLimitKiB, "gateway peak RSS \(peak) KiB during a 100 MB chunked upload")
        }
    }

    @Test("100 MB download streams through with bounded RSS")
    func download() async throws {
        try await withProxy("download-100m") { gateway, _, directory in
            let sampler = ResidentSetSampler(pid: gateway.pid)
            let headFile = directory.appendingPathComponent("heads")
            let result = try await Command.run(
                "sh",
                [
                    "-c",
                    "curl --http1.1 -sS -w '%{stderr}%{size_download}' -D '\(headFile.path)' "
                        + "'\(gateway.url)/big?size=\(Self.size)' | sha256sum",
                ],
                in: directory
            )
            let peak = await sampler.stop()
            #expect(result.exitCode == 0, "\(result.log)")
            #expect(Int(result.log.trimmingCharacters(in: .whitespacesAndNewlines)) == Self.size, "\(result.log)")
            let heads = Curl.parseHeads((try? String(contentsOf: headFile, encoding: .utf8)) ?? "")
            let expected = heads.last?.headers.first { $0.name.lowercased() == "x-body-sha256" }?.value
            #expect(heads.last?.statusLine.hasPrefix("HTTP/1.1 200") == true)
            #expect(expected != nil)
            #expect(result.stdout.split(separator: " ").first.map(String.init) == expected)
            #expect(peak < Self.rssLimitKiB, "gateway peak RSS \(peak) KiB during a 100 MB download")
        }
    }
}
