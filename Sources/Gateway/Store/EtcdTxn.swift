/// A compare-and-swap transaction (`/v3/kv/txn`): when every comparison holds, the operations run.
package struct EtcdTxn: Sendable, Equatable {
    /// One condition on a key.
    package enum Compare: Sendable, Equatable {
        /// The key's last change was at this revision.
        case modRevision(key: String, equals: Int64)
        /// The key does not exist (its create revision is 0).
        case absent(key: String)
        /// The key's version (writes since creation; 0 when absent).
        case version(key: String, equals: Int64)
    }

    /// One write.
    package enum Operation: Sendable, Equatable {
        case put(key: String, value: [UInt8])
        case delete(key: String)
    }

    package var compares: [Compare] = []
    package var success: [Operation] = []

    package init(compares: [Compare] = [], success: [Operation] = []) {
        self.compares = compares
        self.success = success
    }

    /// The request body etcd's gateway takes.
    var json: AdminJSON {
        let compares = compares.map { compare -> AdminJSON in
            switch compare {
            case .modRevision(let key, let revision):
                return .object([
                    "key": .string(EtcdCoding.encode(key)), "target": .string("MOD"), "result": .string("EQUAL"),
                    "mod_revision": .string(String(revision)),
                ])
            case .absent(let key):
                return .object([
                    "key": .string(EtcdCoding.encode(key)), "target": .string("CREATE"), "result": .string("EQUAL"),
                    "create_revision": .string("0"),
                ])
            case .version(let key, let version):
                return .object([
                    "key": .string(EtcdCoding.encode(key)), "target": .string("VERSION"), "result": .string("EQUAL"),
                    "version": .string(String(version)),
                ])
            }
        }
        let operations = success.map { operation -> AdminJSON in
            switch operation {
            case .put(let key, let value):
                return .object([
                    "request_put": .object([
                        "key": .string(EtcdCoding.encode(key)), "value": .string(EtcdCoding.encode(value)),
                    ])
                ])
            case .delete(let key):
                return .object(["request_delete_range": .object(["key": .string(EtcdCoding.encode(key))])])
            }
        }
        return .object(["compare": .array(compares), "success": .array(operations), "failure": .array([])])
    }
}
