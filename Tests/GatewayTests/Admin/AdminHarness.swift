import TestSupport

@testable import Gateway

/// An ``AdminAPI`` with a fake `apply` that records every proposed set and answers with ``result``, a settable
/// file set and clock; requests come from loopback with the admin key unless told otherwise.
struct AdminHarness {
    static let adminKey = "edd1c9f034335f136f87ad84b625c8f1"
    static let viewerKey = "4054f7cf07e344346cd3f287985e76a2"
    static let loopback: [UInt8] = [127, 0, 0, 1]

    /// What `apply` was asked, in order.
    let proposals = LockedValue<[ResourceSet]>([])
    /// What `apply` answers.
    let result = LockedValue<AdminApplyResult>(.applied)
    /// What the configuration file defines.
    let file: LockedValue<ResourceSet>
    /// Unix seconds.
    let clock = LockedValue<Int64>(1_700_000_000)
    let api: AdminAPI

    init(
        file: ResourceSet = ResourceSet(),
        initial: ResourceSet = ResourceSet(),
        allow: [IPNetwork] = IPNetwork.loopback
    ) {
        let proposals = self.proposals
        let result = self.result
        let fileSet = LockedValue(file)
        let clock = self.clock
        self.file = fileSet
        api = AdminAPI(
            keys: [
                AdminConfig.Key(key: Self.adminKey, role: .admin),
                AdminConfig.Key(key: Self.viewerKey, role: .viewer),
            ],
            allow: allow,
            fileName: "gateway.yaml",
            fileResources: { fileSet.value },
            initial: initial,
            apply: { proposed in
                proposals.withLock { $0.append(proposed) }
                return result.value
            },
            now: { clock.value }
        )
    }

    /// Sends one request; `key` goes in `X-API-KEY` when set.
    @discardableResult
    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: String = "",
        body: String? = nil,
        key: String? = AdminHarness.adminKey,
        peer: [UInt8] = AdminHarness.loopback
    ) -> AdminReply {
        var headers: [(name: String, value: String)] = [("content-type", "application/json")]
        if let key { headers.append(("x-api-key", key)) }
        let request = ControlRequest(
            method: method,
            path: path,
            query: query,
            headers: headers,
            body: Array((body ?? "").utf8)
        )
        return AdminReply(api.handle(request, peer: peer))
    }

    /// A file- or store-defined resource.
    static func resource(
        _ kind: AdminResourceKind,
        _ id: String,
        _ json: String,
        index: Int64 = 1
    ) throws -> StoredResource {
        StoredResource(
            kind: kind,
            id: id,
            json: try AdminJSONParser.parse(json).text,
            createdIndex: index,
            modifiedIndex: index
        )
    }

    /// A set holding `resources`, its revision the highest index.
    static func set(_ resources: [StoredResource]) -> ResourceSet {
        var set = ResourceSet()
        for resource in resources {
            set[resource.kind, resource.id] = resource
            set.revision = max(set.revision, resource.modifiedIndex)
        }
        return set
    }
}

/// A response with its body parsed.
struct AdminReply {
    let status: Int
    let contentType: String
    let json: AdminJSON

    init(_ response: ControlResponse) {
        status = response.status
        contentType = response.contentType
        json = (try? AdminJSONParser.parse(response.body)) ?? .string(String(decoding: response.body, as: UTF8.self))
    }

    var errorMessage: String? { json["error_msg"]?.string }
    var value: AdminJSON? { json["value"] }
}
