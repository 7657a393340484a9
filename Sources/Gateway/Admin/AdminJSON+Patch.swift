extension AdminJSON {
    /// This value with `patch` applied as a JSON merge patch (RFC 7396).
    ///
    /// An object patch merges into an object, member by member; a `null` member removes the key; any other
    /// patch replaces the value whole (arrays are replaced, never merged).
    package func mergePatched(with patch: AdminJSON) -> AdminJSON {
        guard case .object(let patchMembers) = patch else { return patch }
        var members = object ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                members[key] = nil
            } else {
                members[key] = (members[key] ?? .null).mergePatched(with: value)
            }
        }
        return .object(members)
    }

    /// This value with the member at `path` (object keys, outermost first) replaced by `value`, as a sub-path
    /// `PATCH` does; a `null` value removes the member.
    ///
    /// Missing objects on the way are created. Returns `nil` when this value, or a value on the way, exists
    /// but is not an object, or when `path` is empty.
    package func replacing(at path: ArraySlice<String>, with value: AdminJSON) -> AdminJSON? {
        guard let key = path.first else { return nil }
        var members: [String: AdminJSON]
        switch self {
        case .object(let existing): members = existing
        case .null: members = [:]
        default: return nil
        }
        if path.count == 1 {
            members[key] = value == .null ? nil : value
        } else {
            guard let inner = (members[key] ?? .null).replacing(at: path.dropFirst(), with: value) else { return nil }
            members[key] = inner
        }
        return .object(members)
    }
}
