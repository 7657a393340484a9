import Foundation
import Logging
import Synchronization

/// The Admin API's resources in etcd, in APISIX's layout: what this gateway last saw there, how writes go
/// there (one compare-and-swap transaction per change) and the cache file a start without etcd uses.
///
/// - **The view** is every key under the prefix as last seen (from a range, the watch, or this gateway's own
///   writes), with etcd's revisions. ``candidate()`` turns it into a ``ResourceSet``: `createdIndex` and
///   `modifiedIndex` are `create_revision` and `mod_revision`, the set's revision is etcd's. Keys of kinds
///   this gateway does not read, and values that are not JSON objects (APISIX 2's `init_dir` markers), are
///   left out and logged once.
/// - **Writes** (``commit(_:over:)``) compare each changed key's `mod_revision` with the one in the view (or
///   that it is absent) and put or delete it, in one transaction; a failed comparison is a
///   ``AdminStoreError/Code/conflict`` and writes nothing. The view takes the write at once, so the watch
///   event that follows changes nothing.
/// - **Encrypted fields** (APISIX's `data_encryption`, ``EtcdFieldEncryption``) are decrypted in the view's
///   resources and encrypted again on writing, so the Admin API and the cache see them in plain text.
/// - **The cache** (`etcd.cache_path`) holds the resources last applied, written atomically after every change.
package final class EtcdConfigStore: ResourceStore, @unchecked Sendable {
    package let client: EtcdClient
    package let layout: EtcdLayout
    /// The cache file's writer and reader.
    package let cache: FileResourceStore
    /// APISIX's encrypted fields: decrypted in ``candidate()``, encrypted in ``commit(_:over:)``.
    package let encryption: EtcdFieldEncryption
    let logger: Logger

    struct View {
        var entries: [String: EtcdKeyValue] = [:]
        /// Keys deleted at a revision the watch has not reached yet (so an older event cannot bring them back).
        var tombstones: [String: Int64] = [:]
        /// Every change up to this revision is in `entries`.
        var revision: Int64 = 0
        /// The highest revision seen, this gateway's own writes included.
        var latest: Int64 = 0
        /// Kinds and keys already logged as ignored.
        var logged: Set<String> = []
        /// The revision of each key last logged for fields no key of the keyring decrypts (one entry a key,
        /// so rewrites of a resource do not grow it).
        var undecryptedLogged: [String: Int64] = [:]
    }
    let view = Mutex(View())
    let state = Mutex(ConfigStoreStatus())

    package init(settings: EtcdSettings, logger: Logger) {
        client = EtcdClient(settings: settings)
        layout = EtcdLayout(prefix: settings.prefix)
        cache = FileResourceStore(path: settings.cachePath)
        encryption = EtcdFieldEncryption(settings.dataEncryption)
        self.logger = logger
    }

    /// A copy of the status (any thread).
    package var status: ConfigStoreStatus { state.withLock { $0 } }

    package func updateStatus(_ change: (inout ConfigStoreStatus) -> Void) {
        state.withLock { change(&$0) }
    }

    /// The revision the view is complete up to (the watch resumes after it).
    package var watchedRevision: Int64 { view.withLock { $0.revision } }

    // MARK: The view

    /// Replaces the view with a full range.
    package func replace(with range: EtcdClient.RangeResult) {
        view.withLock { view in
            view.entries = Dictionary(range.kvs.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
            view.tombstones = [:]
            view.revision = range.revision
            view.latest = max(view.latest, range.revision)
        }
        state.withLock { $0.revision = max($0.revision, range.revision) }
    }

    /// Takes a watch message's events into the view; returns whether any changed it.
    @discardableResult
    package func apply(_ message: EtcdWatchStream.Message) -> Bool {
        let changed = view.withLock { view -> Bool in
            var changed = false
            for event in message.events {
                let key = event.kv.key
                let revision = event.kv.modRevision
                if let known = view.entries[key], known.modRevision >= revision { continue }
                if let deleted = view.tombstones[key], deleted >= revision { continue }
                if event.deleted {
                    if view.entries.removeValue(forKey: key) != nil { changed = true }
                    view.tombstones[key] = revision
                } else {
                    view.entries[key] = event.kv
                    view.tombstones[key] = nil
                    changed = true
                }
                view.revision = max(view.revision, revision)
            }
            if message.events.isEmpty, !message.created, !message.canceled {
                // A progress notification: everything up to its revision has been sent.
                view.revision = max(view.revision, message.revision)
            }
            view.latest = max(view.latest, view.revision)
            view.tombstones = view.tombstones.filter { $0.value > view.revision }
            return changed
        }
        let revision = watchedRevision
        state.withLock { $0.revision = max($0.revision, revision) }
        return changed
    }

    /// The resources the view holds, as the Admin API and the reload path take them.
    package func candidate() -> ResourceSet {
        var ignored: [String] = []
        var undecrypted: [String] = []
        let set = view.withLock { view -> ResourceSet in
            var set = ResourceSet()
            set.revision = view.latest
            for (key, kv) in view.entries {
                switch layout.entry(forKey: key) {
                case .ignored(let why):
                    let kind =
                        key.dropFirst(layout.rangePrefix.count).split(separator: "/").first.map(String.init) ?? key
                    if view.logged.insert(kind).inserted { ignored.append("\(key) (\(why))") }
                case .resource(let kind, let id):
                    guard var value = try? AdminJSONParser.parse(kv.value), value.object != nil else {
                        if view.logged.insert(key).inserted {
                            ignored.append("\(key) (the value is not a JSON object)")
                        }
                        continue
                    }
                    let kept = encryption.decrypt(kind, &value)
                    if !kept.isEmpty, view.undecryptedLogged.updateValue(kv.modRevision, forKey: key) != kv.modRevision
                    {
                        undecrypted.append("\(key) \(kept.joined(separator: ", "))")
                    }
                    set[kind, id] = StoredResource(
                        kind: kind,
                        id: id,
                        json: value.text,
                        createdIndex: kv.createRevision,
                        modifiedIndex: kv.modRevision
                    )
                }
            }
            return set
        }
        for line in ignored { logger.info("etcd: ignoring \(line)") }
        for line in undecrypted {
            logger.warning("etcd: \(line) did not decrypt with etcd.data_encryption.keyring; used as written")
        }
        return set
    }

    // MARK: ResourceStore

    /// The cache file's resources.
    package func load() throws(AdminStoreError) -> ResourceSet {
        try cache.load()
    }

    /// Writes the cache file.
    package func save(_ resources: ResourceSet) throws(AdminStoreError) {
        try cache.save(resources)
    }

    /// Writes the change from `current` to `proposed` to etcd in one compare-and-swap transaction.
    ///
    /// `proposed` must have been built on `current` (its revision one more): a write prepared while the watch
    /// applied someone else's change would otherwise undo that change, so it is a conflict too.
    package func commit(_ proposed: ResourceSet, over current: ResourceSet) throws(AdminStoreError) -> ResourceSet {
        guard proposed.revision == current.revision + 1 else {
            throw AdminStoreError(
                .conflict,
                "the resources changed in etcd (revision \(current.revision)) while this write was prepared; retry"
            )
        }
        var changes: [(kind: AdminResourceKind, id: String, resource: StoredResource?)] = []
        for kind in AdminResourceKind.allCases {
            let ids = Set((proposed.resources[kind] ?? [:]).keys).union((current.resources[kind] ?? [:]).keys)
            for id in ids.sorted() where proposed[kind, id]?.json != current[kind, id]?.json {
                changes.append((kind, id, proposed[kind, id]))
            }
        }
        guard !changes.isEmpty else { return proposed }
        var txn = EtcdTxn()
        // What goes into etcd, with APISIX's encrypted fields encrypted, by key.
        var written: [String: [UInt8]] = [:]
        let seen = view.withLock { $0.entries }
        for change in changes {
            let key = layout.key(change.kind, change.id)
            if let known = seen[key] {
                txn.compares.append(.modRevision(key: key, equals: known.modRevision))
            } else {
                txn.compares.append(.absent(key: key))
            }
            if let resource = change.resource {
                let value = Array(encryption.encrypt(change.kind, json: resource.json).utf8)
                written[key] = value
                txn.success.append(.put(key: key, value: value))
            } else {
                txn.success.append(.delete(key: key))
            }
        }
        let outcome: (succeeded: Bool, revision: Int64)
        do throws(EtcdError) {
            outcome = try client.txn(txn)
        } catch {
            updateStatus {
                $0.lastError = "\(error)"
                if error.code == .unreachable || error.code == .timeout { $0.up = false }
            }
            throw AdminStoreError(.unwritable, "\(error)")
        }
        guard outcome.succeeded else {
            let keys = changes.map { layout.key($0.kind, $0.id) }.joined(separator: ", ")
            throw AdminStoreError(
                .conflict,
                "\(keys) was changed in etcd by someone else since this gateway last saw it; read it again and retry"
            )
        }
        let revision = outcome.revision
        var stored = proposed
        stored.revision = revision
        view.withLock { view in
            for change in changes {
                let key = layout.key(change.kind, change.id)
                if let resource = change.resource {
                    let previous = view.entries[key]
                    view.entries[key] = EtcdKeyValue(
                        key: key,
                        value: written[key] ?? Array(resource.json.utf8),
                        createRevision: previous?.createRevision ?? revision,
                        modRevision: revision,
                        version: (previous?.version ?? 0) + 1
                    )
                    view.tombstones[key] = nil
                    stored[change.kind, change.id]?.createdIndex = previous?.createRevision ?? revision
                    stored[change.kind, change.id]?.modifiedIndex = revision
                } else {
                    view.entries[key] = nil
                    view.tombstones[key] = revision
                }
            }
            view.latest = max(view.latest, revision)
        }
        state.withLock { $0.revision = max($0.revision, revision) }
        writeCache(stored)
        return stored
    }

    /// Writes `resources` to the cache file; a failure is logged (the cache only matters at the next start).
    package func writeCache(_ resources: ResourceSet) {
        do throws(AdminStoreError) {
            try cache.save(resources)
        } catch {
            logger.warning("etcd: cannot write the cache \(cache.path): \(error)")
        }
    }
}
