import Foundation
import Yams

extension ResourceSet {
    /// The resources a configuration source defines itself (its `routes`, `upstreams`, `services`,
    /// `consumers`, `global_rules`), as the Admin API shows them: read-only, each as the JSON of its
    /// entry in the file (after `${VAR}` expansion).
    init(fileDefinedIn source: ConfigSource) {
        self.init()
        guard let mapping = source.document.root.mapping else { return }
        for kind in AdminResourceKind.allCases where kind != .credentials {
            guard let items = mapping[kind.rawValue]?.sequence else { continue }
            for item in items {
                guard let object = Self.value(of: item) as? [String: Any] else { continue }
                let key = kind == .consumers ? "username" : "id"
                guard let id = object[key] as? String ?? (object[key] as? Int).map(String.init) else { continue }
                guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
                    continue
                }
                self[kind, id] = StoredResource(
                    kind: kind,
                    id: id,
                    json: String(decoding: data, as: UTF8.self),
                    createdIndex: 0,
                    modifiedIndex: 0
                )
            }
        }
    }

    /// A YAML node as the JSON value it stands for (tags decide numbers, booleans and null).
    private static func value(of node: Node) -> Any {
        switch node {
        case .scalar(let scalar):
            if node.null != nil && scalar.style == .plain { return NSNull() }
            if scalar.style == .plain, let bool = node.bool { return bool }
            if scalar.style == .plain, let int = node.int { return int }
            if scalar.style == .plain, let double = node.float { return double }
            return scalar.string
        case .mapping(let mapping):
            var object: [String: Any] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = Self.value(of: value) }
            return object
        case .sequence(let sequence):
            return sequence.map { Self.value(of: $0) }
        case .alias:
            return NSNull()
        }
    }
}
