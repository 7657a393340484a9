/// Decides which resources read from etcd are served: every resource that validates with the rest;
/// each one that does not is rejected on its own.
///
/// A rejected resource keeps its last good version when there was one (that version is validated again
/// with the rest); one naming a plugin, or a plugin setting such as `_meta.filter`, this gateway does not
/// support is never served. Problems that name no resource (the configuration file's own) reject the whole set.
package enum EtcdResourceFilter {
    /// The outcome: the set to serve (with the configuration it validates to) and the rejections.
    package struct Outcome<Validated> {
        package var resources: ResourceSet
        package var validated: Validated
        package var rejected: [ConfigStoreStatus.Rejection]
    }

    /// Filters `candidate` against `validate` (which throws the issues of a set, labelled `kind/id` as
    /// ``ConfigReloader/overlay(_:)`` labels them); `lastGood` is the set served so far.
    package static func filter<Validated>(
        _ candidate: ResourceSet,
        lastGood: ResourceSet,
        layout: EtcdLayout,
        validate: (ResourceSet) throws(ConfigError) -> Validated
    ) throws(ConfigError) -> Outcome<Validated> {
        var set = candidate
        var rejected: [String: ConfigStoreStatus.Rejection] = [:]
        var reverted: Set<String> = []
        // Each round drops at least one resource, so this ends; the bound only guards against surprises.
        for _ in 0..<(countResources(candidate) + 2) {
            do throws(ConfigError) {
                let validated = try validate(set)
                let list = rejected.values.sorted { $0.key < $1.key }
                return Outcome(resources: set, validated: validated, rejected: list)
            } catch {
                var blamed: [String: [String]] = [:]
                var unattributed: [ConfigIssue] = []
                for issue in error.issues {
                    if let label = label(of: issue.path, in: set) {
                        let rest = issue.path.dropFirst(label.count).drop { $0 == ":" || $0 == " " }
                        blamed[label, default: []].append(rest.isEmpty ? issue.reason : "\(rest): \(issue.reason)")
                    } else {
                        unattributed.append(issue)
                    }
                }
                guard unattributed.isEmpty, !blamed.isEmpty else { throw error }
                for (label, problems) in blamed {
                    guard let (kind, id) = resource(of: label) else { continue }
                    let detail = problems.joined(separator: "; ")
                    // An unknown plugin, or a plugin setting (`_meta.filter`, ...) this gateway does not implement.
                    let unsupported =
                        detail.contains("unknown plugin") || detail.contains(ConfigReader.unsupportedPluginSetting)
                    let previous = lastGood[kind, id]
                    let key = layout.key(kind, id)
                    let keepPrevious =
                        !unsupported && previous != nil && !reverted.contains(label)
                        && previous != set[kind, id]
                    if rejected[key] == nil {
                        rejected[key] = ConfigStoreStatus.Rejection(
                            key: key,
                            kind: kind,
                            id: id,
                            reason: unsupported ? .unsupportedPlugin : .invalid,
                            detail: detail,
                            servingPrevious: keepPrevious
                        )
                    } else if !keepPrevious {
                        rejected[key]?.servingPrevious = false
                    }
                    if keepPrevious {
                        reverted.insert(label)
                        set[kind, id] = previous
                    } else {
                        set[kind, id] = nil
                    }
                }
            }
        }
        let validated = try validate(set)
        return Outcome(resources: set, validated: validated, rejected: rejected.values.sorted { $0.key < $1.key })
    }

    private static func countResources(_ set: ResourceSet) -> Int {
        set.resources.values.reduce(0) { $0 + $1.count }
    }

    /// The `kind/id` label an issue path starts with, if it names a resource of `set`.
    private static func label(of path: String, in set: ResourceSet) -> String? {
        guard let slash = path.firstIndex(of: "/"), let kind = AdminResourceKind(rawValue: String(path[..<slash]))
        else { return nil }
        let rest = path[path.index(after: slash)...]
        let idPart = rest.range(of: ": ").map { rest[..<$0.lowerBound] } ?? rest
        guard set[kind, String(idPart)] != nil else { return nil }
        return "\(kind.rawValue)/\(idPart)"
    }

    private static func resource(of label: String) -> (AdminResourceKind, String)? {
        guard let slash = label.firstIndex(of: "/"), let kind = AdminResourceKind(rawValue: String(label[..<slash]))
        else { return nil }
        return (kind, String(label[label.index(after: slash)...]))
    }
}
