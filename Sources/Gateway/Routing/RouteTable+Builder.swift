extension RouteTable {
    /// The flat arrays a table is frozen from.
    struct Compiled {
        var nodes: [Node] = []
        var edges: [Edge] = []
        var entries: [Entry] = []
        var bytes: [UInt8] = []
        var exactBuckets: [Bucket] = []
        var wildcardBuckets: [Bucket] = []
        var slots: [Int32] = []
        var anyRoot: Int32 = -1
    }

    /// A mutable trie node used only while compiling.
    private final class TrieBuilder {
        var literals: [[UInt8]: TrieBuilder] = [:]
        var param: TrieBuilder?
        var exact: [Entry] = []
        var prefix: [Entry] = []

        func insert(_ pattern: PathPattern, _ entry: Entry) {
            var node = self
            for segment in pattern.segments {
                switch segment {
                case .literal(let text):
                    let key = Array(text.utf8)
                    if let next = node.literals[key] {
                        node = next
                    } else {
                        let next = TrieBuilder()
                        node.literals[key] = next
                        node = next
                    }
                case .param:
                    if let next = node.param {
                        node = next
                    } else {
                        let next = TrieBuilder()
                        node.param = next
                        node = next
                    }
                }
            }
            if pattern.isPrefix {
                node.prefix.append(entry)
            } else {
                node.exact.append(entry)
            }
        }
    }

    /// Where a candidate's host puts it: exact hosts beat wildcards, which beat routes without hosts.
    private enum HostKey: Hashable {
        case exact([UInt8])
        case wildcard([UInt8])
        case any

        var strength: Int {
            switch self {
            case .exact: 2
            case .wildcard: 1
            case .any: 0
            }
        }
    }

    private struct Candidate {
        var route: Int
        var priority: Int
        var host: HostKey
        var pattern: PathPattern
        var methods: UInt16

        /// Exact literal path 3, path with params 2, prefix 1.
        var pathStrength: Int {
            pattern.isPrefix ? 1 : pattern.hasParams ? 2 : 3
        }

        /// Orders candidates best first: priority, host kind, path kind, longer prefix, config order.
        static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
            if a.priority != b.priority { return a.priority > b.priority }
            if a.host.strength != b.host.strength { return a.host.strength > b.host.strength }
            if a.pathStrength != b.pathStrength { return a.pathStrength > b.pathStrength }
            if a.pattern.isPrefix && a.pattern.prefixLength != b.pattern.prefixLength {
                return a.pattern.prefixLength > b.pattern.prefixLength
            }
            return a.route < b.route
        }
    }

    static func compile(_ routes: [RouteConfig], indices: [Int32]? = nil) -> Compiled {
        var candidates: [Candidate] = []
        for (index, route) in routes.enumerated() {
            var methods: UInt16 = 0
            for method in route.methods {
                methods |= 1 << UInt16(method.rawValue)
            }
            if methods == 0 {
                methods = UInt16.max
            }
            var hosts: [HostKey] = []
            for text in route.hosts {
                switch try? HostPattern(parsing: text) {
                case .exact(let name): hosts.append(.exact(Array(name.utf8)))
                case .wildcard(let suffix): hosts.append(.wildcard(Array(suffix.utf8)))
                case nil: continue
                }
            }
            if route.hosts.isEmpty {
                hosts = [.any]
            }
            for uri in route.uris {
                guard let pattern = try? PathPattern(parsing: uri) else { continue }
                for host in hosts {
                    candidates.append(
                        Candidate(
                            route: index,
                            priority: route.priority,
                            host: host,
                            pattern: pattern,
                            methods: methods
                        )
                    )
                }
            }
        }
        candidates.sort(by: Candidate.precedes)

        var tries: [HostKey: TrieBuilder] = [:]
        var hostOrder: [HostKey] = []
        for (rank, candidate) in candidates.enumerated() {
            let trie: TrieBuilder
            if let existing = tries[candidate.host] {
                trie = existing
            } else {
                trie = TrieBuilder()
                tries[candidate.host] = trie
                hostOrder.append(candidate.host)
            }
            let route = indices.map { $0[candidate.route] } ?? Int32(candidate.route)
            let entry = Entry(rank: Int32(rank), route: route, methods: candidate.methods)
            trie.insert(candidate.pattern, entry)
        }

        var compiled = Compiled()
        for key in hostOrder {
            guard let trie = tries[key] else { continue }
            let root = flatten(trie, into: &compiled)
            switch key {
            case .exact(let name):
                compiled.exactBuckets.append(bucket(name, root: root, into: &compiled))
            case .wildcard(let suffix):
                compiled.wildcardBuckets.append(bucket(suffix, root: root, into: &compiled))
            case .any:
                compiled.anyRoot = root
            }
        }
        compiled.slots = hashSlots(compiled.exactBuckets)
        return compiled
    }

    private static func bucket(_ name: [UInt8], root: Int32, into compiled: inout Compiled) -> Bucket {
        // Names are stored lower-cased, so this equals `match`'s hash of the lower-cased Host header.
        let hash = FNV1a.hash(name)
        let start = Int32(compiled.bytes.count)
        compiled.bytes.append(contentsOf: name)
        return Bucket(byteStart: start, byteCount: Int32(name.count), root: root, hash: hash)
    }

    /// Linear-probing table at most half full.
    private static func hashSlots(_ buckets: [Bucket]) -> [Int32] {
        guard !buckets.isEmpty else { return [] }
        var size = 2
        while size < buckets.count * 2 {
            size <<= 1
        }
        var slots = [Int32](repeating: -1, count: size)
        for (index, bucket) in buckets.enumerated() {
            var slot = Int(truncatingIfNeeded: bucket.hash) & (size - 1)
            while slots[slot] >= 0 {
                slot = (slot + 1) & (size - 1)
            }
            slots[slot] = Int32(index)
        }
        return slots
    }

    /// Appends `trie` and its descendants to the flat arrays; returns the node's index.
    private static func flatten(_ trie: TrieBuilder, into compiled: inout Compiled) -> Int32 {
        let index = compiled.nodes.count
        compiled.nodes.append(
            Node(
                edgeStart: 0,
                edgeCount: 0,
                paramChild: -1,
                exactStart: 0,
                exactCount: 0,
                prefixStart: 0,
                prefixCount: 0,
                bestRank: Int32.max
            )
        )
        var node = compiled.nodes[index]
        let exact = trie.exact.sorted { $0.rank < $1.rank }
        let prefix = trie.prefix.sorted { $0.rank < $1.rank }
        node.exactStart = Int32(compiled.entries.count)
        node.exactCount = Int32(exact.count)
        compiled.entries.append(contentsOf: exact)
        node.prefixStart = Int32(compiled.entries.count)
        node.prefixCount = Int32(prefix.count)
        compiled.entries.append(contentsOf: prefix)
        var bestRank = min(exact.first?.rank ?? Int32.max, prefix.first?.rank ?? Int32.max)

        // Edges are reserved as one contiguous run before the children are flattened.
        let literals = trie.literals.sorted { a, b in
            a.key.count != b.key.count ? a.key.count < b.key.count : a.key.lexicographicallyPrecedes(b.key)
        }
        node.edgeStart = Int32(compiled.edges.count)
        node.edgeCount = Int32(literals.count)
        for (segment, _) in literals {
            let start = Int32(compiled.bytes.count)
            compiled.bytes.append(contentsOf: segment)
            compiled.edges.append(Edge(byteStart: start, byteCount: Int32(segment.count), child: -1))
        }
        for (offset, literal) in literals.enumerated() {
            let child = flatten(literal.value, into: &compiled)
            compiled.edges[Int(node.edgeStart) + offset].child = child
            bestRank = min(bestRank, compiled.nodes[Int(child)].bestRank)
        }
        if let param = trie.param {
            node.paramChild = flatten(param, into: &compiled)
            bestRank = min(bestRank, compiled.nodes[Int(node.paramChild)].bestRank)
        }
        node.bestRank = bestRank
        compiled.nodes[index] = node
        return Int32(index)
    }
}
