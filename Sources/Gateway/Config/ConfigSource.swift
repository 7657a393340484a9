import Foundation
import Yams

/// A configuration source read and expanded but not yet validated: a file (with `${VAR}` expanded) or
/// the quick-start flags. Kept by the reload path, so an Admin API write validates the file as it was
/// last loaded plus the API's resources, without reading the file again.
package struct ConfigSource: @unchecked Sendable {
    var document: ConfigDocument
    var flags: [ConfigOverride]
    /// A file path, or "command line".
    package let sourceName: String
    /// FNV-1a 64 of the source alone (the file's bytes, or the command line): what the file watcher
    /// compares a changed file with. The configuration read from it carries the hash of the effective
    /// configuration instead (see ``ConfigLoader/effectiveHash(_:overlay:)``).
    package let sourceHash: String
    /// What expanding `${VAR}` found (unset variables, with their key paths), reported together with
    /// everything validation finds.
    var expansionIssues: [ConfigIssue] = []
    var unexpanded: Set<String> = []
}

/// A resource defined outside the file (through the Admin API), added to the file's section before
/// the whole configuration is validated.
package struct ConfigOverlayEntry: Sendable {
    /// The top-level section it joins: `routes`, `upstreams`, `services`, `consumers`, `credentials`,
    /// `global_rules`.
    package var section: String
    /// The resource as a JSON object.
    package var json: String
    /// How issues inside it are named ("routes/1"), instead of their position in the merged section.
    package var label: String

    package init(section: String, json: String, label: String) {
        self.section = section
        self.json = json
        self.label = label
    }
}

extension ConfigLoader {
    /// Reads the file at `path` and expands its `${VAR}` references; ``read(_:overlay:environment:resolveHostnames:)``
    /// validates it.
    package static func source(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ConfigSource {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                let issue = ConfigIssue(path: "(file)", line: nil, reason: "\(path) is not UTF-8 text")
                throw ConfigError(code: .unreadable, issues: [issue], sourceName: path)
            }
            text = decoded
        } catch let error as ConfigError {
            throw error
        } catch {
            let issue = ConfigIssue(
                path: "(file)",
                line: nil,
                reason: "cannot read \(path): \(error.localizedDescription)"
            )
            throw ConfigError(code: .unreadable, issues: [issue], sourceName: path, cause: error)
        }
        return try source(yaml: text, sourceName: path, environment: environment)
    }

    /// Composes YAML text and expands its `${VAR}` references.
    package static func source(
        yaml: String,
        sourceName: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ConfigSource {
        var text = yaml
        let references = EnvironmentReferences(protecting: &text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(code: .syntax, issues: [syntaxIssue(error)], sourceName: sourceName, cause: error)
        }
        var reader = ConfigReader()
        guard let root else {
            reader.report("", nil, "the configuration is empty; it needs at least `routes:`")
            throw ConfigError(code: .invalid, issues: reader.issues, sourceName: sourceName)
        }
        let expanded = reader.substituteEnvironment(root, at: "", environment: environment, references: references)
        return ConfigSource(
            document: ConfigDocument(root: expanded, fromFile: true),
            flags: [],
            sourceName: sourceName,
            sourceHash: FNV1a.hex(of: yaml.utf8),
            expansionIssues: reader.issues,
            unexpanded: reader.unexpanded
        )
    }

    /// Validates `source` with `overlay` added to its sections, exactly as ``load(path:environment:resolveHostnames:)``
    /// validates a file. Issues inside an overlay entry are named by its label and the key path inside it
    /// ("routes/1: uri").
    package static func read(
        _ source: ConfigSource,
        overlay: [ConfigOverlayEntry] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        resolveHostnames: Bool = true
    ) throws(ConfigError) -> GatewayConfig {
        var document = source.document
        var placed: [(prefix: String, label: String)] = []
        if !overlay.isEmpty {
            var issues: [ConfigIssue] = []
            var root = document.root
            for entry in overlay {
                do {
                    guard let node = try Yams.compose(yaml: entry.json) else {
                        issues.append(ConfigIssue(path: entry.label, line: nil, reason: "empty resource"))
                        continue
                    }
                    let index = Self.append(node, to: entry.section, in: &root)
                    placed.append(("\(entry.section)[\(index)]", entry.label))
                } catch {
                    issues.append(ConfigIssue(path: entry.label, line: nil, reason: "not a JSON object: \(error)"))
                }
            }
            guard issues.isEmpty else {
                throw ConfigError(code: .invalid, issues: issues, sourceName: source.sourceName)
            }
            document.replaceRoot(root)
        }
        var reader = ConfigReader()
        reader.resolveHostnames = resolveHostnames
        reader.issues = source.expansionIssues
        reader.unexpanded = source.unexpanded
        do {
            var config = try read(
                document,
                flags: source.flags,
                environment: environment,
                reader: &reader,
                sourceName: source.sourceName
            )
            config.sourceName = source.sourceName
            config.sourceHash = effectiveHash(source, overlay: overlay)
            return config
        } catch {
            guard !placed.isEmpty else { throw error }
            var renamed = error
            renamed.issues = error.issues.map { issue in
                var issue = issue
                for entry in placed where issue.path == entry.prefix || issue.path.hasPrefix(entry.prefix + ".") {
                    let rest = issue.path.dropFirst(entry.prefix.count).drop { $0 == "." }
                    issue.path = rest.isEmpty ? entry.label : "\(entry.label): \(rest)"
                    issue.line = nil
                    break
                }
                return issue
            }
            throw renamed
        }
    }

    /// FNV-1a 64 of the effective configuration: the source's hash, then every overlay entry in a fixed
    /// order (section, label) with its JSON canonicalised (sorted keys, without `create_time` and
    /// `update_time`), so identical content hashes the same whatever the write order or timestamps, and
    /// any change of a file, Admin API or etcd resource changes it. Without an overlay it is the source's
    /// own hash, as `gateway check` prints it.
    package static func effectiveHash(_ source: ConfigSource, overlay: [ConfigOverlayEntry]) -> String {
        guard !overlay.isEmpty else { return source.sourceHash }
        var hash = FNV1a.hash(source.sourceHash.utf8)
        func fold(_ text: String) {
            for byte in text.utf8 { hash = FNV1a.mix(hash, byte) }
            // A separator no JSON text or label contains, so ("ab", "c") and ("a", "bc") differ.
            hash = FNV1a.mix(hash, 0)
        }
        let ordered = overlay.sorted { ($0.section, $0.label) < ($1.section, $1.label) }
        for entry in ordered {
            fold(entry.section)
            fold(entry.label)
            fold(canonicalJSON(entry.json))
        }
        return FNV1a.hex(hash)
    }

    /// `json` with sorted keys and without the timestamps a write stamps on it (the text itself when it
    /// does not parse as an object).
    private static func canonicalJSON(_ json: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            return json
        }
        object["create_time"] = nil
        object["update_time"] = nil
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return json
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Appends `node` to the sequence `section` of `root` (creating it); returns its index there.
    private static func append(_ node: Node, to section: String, in root: inout Node) -> Int {
        guard case .mapping(let mapping) = root else { return 0 }
        var pairs = mapping.map { ($0.key, $0.value) }
        if let position = pairs.firstIndex(where: { $0.0.string == section }),
            case .sequence(var items) = pairs[position].1
        {
            items.append(node)
            pairs[position].1 = .sequence(items)
            root = .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
            return items.count - 1
        }
        // Absent (or not a list, which the reader reports for the file's own text): the entry starts a list.
        if let position = pairs.firstIndex(where: { $0.0.string == section }) {
            pairs.remove(at: position)
        }
        pairs.append((Node(section, Tag(.str), .plain), Node([node])))
        root = .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        return 0
    }
}
