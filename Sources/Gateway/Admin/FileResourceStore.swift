#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the Admin API's resources in one JSON file (`admin.data_path`, `data/resources.json` by default).
///
/// The file is one object; each resource is one line of the `resources` array, ordered by kind and id:
///
/// ```json
/// {"format":1,"revision":7,"resources":[
/// {"created_index":3,"id":"1","kind":"routes","modified_index":7,"value":{"id":"1","uri":"/a",...}}
/// ]}
/// ```
///
/// - `format`: the layout version, 1.
/// - `revision`: ``ResourceSet/revision``, the last index handed out.
/// - `kind`: an ``AdminResourceKind`` raw value (`routes`, `upstreams`, `services`, `consumers`, `credentials`,
///   `global_rules`); `id`: the resource id (`{username}/{id}` for a credential).
/// - `created_index`, `modified_index`: ``StoredResource/createdIndex`` and ``StoredResource/modifiedIndex``.
/// - `value`: the resource object itself (not a string). A loaded resource's ``StoredResource/json`` is its
///   compact text with sorted keys, the form the Admin API writes.
///
/// ``save(_:)`` writes `<path>.tmp` in the same directory (mode 0600: consumers carry secrets), fsyncs it,
/// renames it over `path` and fsyncs the directory, creating the directory first when it is missing. A crash at
/// any moment leaves either the previous file or the new one; ``load()`` never reads the temporary file.
package struct FileResourceStore: ResourceStore {
    /// The layout version written to and expected in `format`.
    package static let format: Int64 = 1

    /// The data file, relative to the working directory unless absolute.
    package let path: String

    package init(path: String = "data/resources.json") {
        self.path = path
    }

    /// Where ``save(_:)`` writes before renaming over ``path``.
    package var temporaryPath: String { path + ".tmp" }

    /// The directory holding ``path``.
    package var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    package func load() throws(AdminStoreError) -> ResourceSet {
        guard let bytes = try readFile() else { return ResourceSet() }
        let document: AdminJSON
        do {
            document = try AdminJSONParser.parse(bytes)
        } catch {
            throw corrupt("not valid JSON (\(error))")
        }
        return try decode(document)
    }

    package func save(_ resources: ResourceSet) throws(AdminStoreError) {
        let bytes = try encode(resources)
        try createDirectory(directory)
        try writeTemporary(bytes)
        guard rename(temporaryPath, path) == 0 else {
            let failure = unwritable("cannot rename \(temporaryPath) to \(path)")
            unlink(temporaryPath)
            throw failure
        }
        try syncDirectory()
    }

    // MARK: Encoding

    private func encode(_ set: ResourceSet) throws(AdminStoreError) -> [UInt8] {
        var output = Array("{\"format\":\(Self.format),\"revision\":\(set.revision),\"resources\":[".utf8)
        let resources = AdminResourceKind.allCases.sorted { $0.rawValue < $1.rawValue }.flatMap { set.list($0) }
        for (index, resource) in resources.enumerated() {
            let value: AdminJSON
            do {
                value = try AdminJSONParser.parse(resource.json)
            } catch {
                throw AdminStoreError(
                    .unwritable,
                    "\(path): \(resource.kind.rawValue)/\(resource.id) is not valid JSON (\(error))"
                )
            }
            let line: AdminJSON = .object([
                "kind": .string(resource.kind.rawValue),
                "id": .string(resource.id),
                "created_index": .integer(resource.createdIndex),
                "modified_index": .integer(resource.modifiedIndex),
                "value": value,
            ])
            output.append(contentsOf: (index == 0 ? "\n" : ",\n").utf8)
            line.append(to: &output)
        }
        output.append(contentsOf: "\n]}\n".utf8)
        return output
    }

    private func decode(_ document: AdminJSON) throws(AdminStoreError) -> ResourceSet {
        guard let members = document.object else { throw corrupt("the top level is not an object") }
        guard let format = members["format"]?.integer, format == Self.format else {
            throw corrupt("\"format\" must be \(Self.format)")
        }
        guard let revision = members["revision"]?.integer, revision >= 0 else {
            throw corrupt("\"revision\" must be a non-negative integer")
        }
        guard case .array(let entries) = members["resources"] else {
            throw corrupt("\"resources\" must be an array")
        }
        var set = ResourceSet()
        set.revision = revision
        for (index, entry) in entries.enumerated() {
            let resource = try decodeResource(entry, at: index)
            guard set[resource.kind, resource.id] == nil else {
                throw corrupt("resources[\(index)]: \(resource.kind.rawValue)/\(resource.id) appears twice")
            }
            set[resource.kind, resource.id] = resource
            set.revision = max(set.revision, resource.modifiedIndex)
        }
        return set
    }

    private func decodeResource(_ entry: AdminJSON, at index: Int) throws(AdminStoreError) -> StoredResource {
        let place = "resources[\(index)]"
        guard let kindName = entry["kind"]?.string, let kind = AdminResourceKind(rawValue: kindName) else {
            throw corrupt("\(place).kind must be one of \(AdminResourceKind.allCases.map(\.rawValue))")
        }
        guard let id = entry["id"]?.string, !id.isEmpty else {
            throw corrupt("\(place).id must be a non-empty string")
        }
        guard let created = entry["created_index"]?.integer, let modified = entry["modified_index"]?.integer else {
            throw corrupt("\(place): created_index and modified_index must be integers")
        }
        guard let value = entry["value"], value.object != nil else {
            throw corrupt("\(place).value must be an object")
        }
        return StoredResource(kind: kind, id: id, json: value.text, createdIndex: created, modifiedIndex: modified)
    }

    // MARK: Files

    /// The file's bytes, or `nil` when it does not exist.
    private func readFile() throws(AdminStoreError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw AdminStoreError(.unreadable, "cannot open \(path): \(Self.lastError())")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw AdminStoreError(.unreadable, "cannot read \(path): \(Self.lastError())")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private func createDirectory(_ directory: String) throws(AdminStoreError) {
        var status = stat()
        if stat(directory, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw AdminStoreError(.unwritable, "cannot create directory \(directory): a file of that name exists")
            }
            return
        }
        guard errno == ENOENT else { throw unwritable("cannot use directory \(directory)") }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try createDirectory(String(directory[..<slash]))
        }
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw unwritable("cannot create directory \(directory)")
        }
    }

    private func writeTemporary(_ bytes: [UInt8]) throws(AdminStoreError) {
        let temporary = temporaryPath
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw unwritable("cannot create \(temporary)") }
        var failure: AdminStoreError?
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = unwritable("cannot write \(temporary)")
                break
            }
            offset += written
        }
        if failure == nil, fsync(descriptor) != 0 { failure = unwritable("cannot fsync \(temporary)") }
        if close(descriptor) != 0, failure == nil { failure = unwritable("cannot close \(temporary)") }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    private func syncDirectory() throws(AdminStoreError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unwritable("cannot open directory \(directory) to fsync it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw unwritable("cannot fsync directory \(directory)") }
    }

    private func corrupt(_ problem: String) -> AdminStoreError {
        AdminStoreError(.corrupt, "\(path): \(problem)")
    }

    /// An ``AdminStoreError/Code/unwritable`` error for `action`, with the current `errno`'s text.
    private func unwritable(_ action: String) -> AdminStoreError {
        AdminStoreError(.unwritable, "\(action): \(Self.lastError())")
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
