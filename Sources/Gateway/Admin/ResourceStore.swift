/// Where resources created through the Admin API live between restarts.
///
/// The file store (``FileResourceStore``) keeps them in one JSON file; the fleet issue puts etcd
/// behind the same interface.
package protocol ResourceStore: Sendable {
    /// Every stored resource (an empty set when nothing was stored yet).
    func load() throws(AdminStoreError) -> ResourceSet
    /// Replaces what is stored with `resources`, atomically: after a crash at any moment, ``load()``
    /// returns either the previous set or this one, never a mix.
    func save(_ resources: ResourceSet) throws(AdminStoreError)
    /// Stores the change from `current` to `proposed` and returns the set as stored (a store may assign
    /// its own indices, as etcd's revisions). Throws ``AdminStoreError/Code/conflict`` when the store holds
    /// a newer version of a changed resource than `current`. The default saves `proposed` whole.
    func commit(_ proposed: ResourceSet, over current: ResourceSet) throws(AdminStoreError) -> ResourceSet
}

extension ResourceStore {
    package func commit(_ proposed: ResourceSet, over current: ResourceSet) throws(AdminStoreError) -> ResourceSet {
        try save(proposed)
        return proposed
    }
}

/// A store that could not be read or written.
package struct AdminStoreError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case unreadable
        case corrupt
        case unwritable
        /// A compare-and-swap found a newer version in the store (etcd): nothing was written.
        case conflict
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
