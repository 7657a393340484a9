#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The compiled, immutable routing table a worker consults for every request.
///
/// Built once per configuration from the enabled routes: per-host buckets (exact hosts in a hash table,
/// `*.suffix` wildcards, and one bucket for routes without hosts), each a trie over path segments with
/// literal edges, one `:param` edge and `*` prefix entries. Every candidate (route, host, uri) gets a
/// precomputed rank from the selection rules, so ``match(method:host:path:)`` only keeps the lowest rank
/// seen. See docs/CONFIG.md for the rules.
///
/// `@unchecked Sendable`: the storage is raw memory written only in `init` and freed in `deinit`; it is
/// read-only in between, so sharing across workers is safe, and raw pointers keep `match` free of ARC.
public final class RouteTable: @unchecked Sendable {
    struct Node {
        var edgeStart: Int32
        var edgeCount: Int32
        var paramChild: Int32
        var exactStart: Int32
        var exactCount: Int32
        var prefixStart: Int32
        var prefixCount: Int32
        /// Lowest rank of any entry in this subtree, to skip subtrees that cannot beat the best so far.
        var bestRank: Int32
    }

    struct Edge {
        var byteStart: Int32
        var byteCount: Int32
        var child: Int32
    }

    struct Entry {
        var rank: Int32
        var route: Int32
        var methods: UInt16
    }

    struct Bucket {
        var byteStart: Int32
        var byteCount: Int32
        var root: Int32
        var hash: UInt64
    }

    /// The enabled routes in configuration order; ``match(method:host:path:)`` returns indices into this.
    package let routes: [RouteConfig]

    private let nodes: UnsafeMutableBufferPointer<Node>
    private let edges: UnsafeMutableBufferPointer<Edge>
    private let entries: UnsafeMutableBufferPointer<Entry>
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    private let exactBuckets: UnsafeMutableBufferPointer<Bucket>
    private let wildcardBuckets: UnsafeMutableBufferPointer<Bucket>
    /// Open-addressing slots of exact-bucket indices (-1 empty); count is a power of two.
    private let slots: UnsafeMutableBufferPointer<Int32>
    private let anyRoot: Int32

    /// Compiles the enabled routes; patterns that fail to parse (never the case after ``ConfigLoader``) are skipped.
    /// Compiles the enabled routes of `allRoutes`. A match returns the route's position among the enabled
    /// routes, or `indices[position]` when given (the plan's stable route indices).
    package init(routes allRoutes: [RouteConfig], indices: [Int32]? = nil) {
        let routes = allRoutes.filter(\.enabled)
        let compiled = Self.compile(routes, indices: indices)
        self.routes = routes
        self.nodes = Self.freeze(compiled.nodes)
        self.edges = Self.freeze(compiled.edges)
        self.entries = Self.freeze(compiled.entries)
        self.bytes = Self.freeze(compiled.bytes)
        self.exactBuckets = Self.freeze(compiled.exactBuckets)
        self.wildcardBuckets = Self.freeze(compiled.wildcardBuckets)
        self.slots = Self.freeze(compiled.slots)
        self.anyRoot = compiled.anyRoot
    }

    deinit {
        nodes.deallocate()
        edges.deallocate()
        entries.deallocate()
        bytes.deallocate()
        exactBuckets.deallocate()
        wildcardBuckets.deallocate()
        slots.deallocate()
    }

    /// Finds the route for a request: an index into ``routes``, or -1 when none matches.
    ///
    /// `host` is the Host header value as received (any case, optional `:port`); `path` is the request
    /// target's path (a `?query` or `#fragment` is ignored). Allocation-free and lock-free.
    public func match(method: HTTPMethod, host: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> Int {
        guard let pathBase = path.baseAddress, path.count > 0 else { return -1 }
        let pathBytes = pathBase.assumingMemoryBound(to: UInt8.self)
        guard pathBytes[0] == UInt8(ascii: "/") else { return -1 }
        var pathEnd = 0
        while pathEnd < path.count && pathBytes[pathEnd] != UInt8(ascii: "?") && pathBytes[pathEnd] != UInt8(ascii: "#")
        {
            pathEnd += 1
        }
        let methodBit: UInt16 = 1 << UInt16(method.rawValue)
        var best = Entry(rank: Int32.max, route: -1, methods: 0)

        if let hostBase = host.baseAddress, host.count > 0 {
            let hostBytes = hostBase.assumingMemoryBound(to: UInt8.self)
            let hostCount = Self.hostLength(hostBytes, host.count)
            if hostCount > 0 {
                if slots.count > 1 {
                    // Hashed as it is lower-cased, byte by byte, so the Host value is never copied.
                    var hash = FNV1a.offsetBasis
                    for index in 0..<hostCount {
                        hash = FNV1a.mix(hash, HTTPBytes.lowercased(hostBytes[index]))
                    }
                    let mask = slots.count - 1
                    var slot = Int(truncatingIfNeeded: hash) & mask
                    while slots[slot] >= 0 {
                        let bucket = exactBuckets[Int(slots[slot])]
                        if bucket.hash == hash && Int(bucket.byteCount) == hostCount
                            && equalsLowercased(hostBytes, Int(bucket.byteStart), hostCount)
                        {
                            search(bucket.root, 1, pathBytes, pathEnd, methodBit, &best)
                            break
                        }
                        slot = (slot + 1) & mask
                    }
                }
                for index in 0..<wildcardBuckets.count {
                    let bucket = wildcardBuckets[index]
                    let suffixCount = Int(bucket.byteCount)
                    if hostCount > suffixCount
                        && equalsLowercased(hostBytes + (hostCount - suffixCount), Int(bucket.byteStart), suffixCount)
                    {
                        search(bucket.root, 1, pathBytes, pathEnd, methodBit, &best)
                    }
                }
            }
        }
        if anyRoot >= 0 {
            search(anyRoot, 1, pathBytes, pathEnd, methodBit, &best)
        }
        return Int(best.route)
    }

    /// Walks the trie from `nodeIndex`; `position` is where the next segment starts, or `end + 1` once the
    /// path is used up.
    private func search(
        _ nodeIndex: Int32,
        _ position: Int,
        _ path: UnsafePointer<UInt8>,
        _ end: Int,
        _ methodBit: UInt16,
        _ best: inout Entry
    ) {
        let node = nodes[Int(nodeIndex)]
        guard node.bestRank < best.rank else { return }
        if position > end {
            consider(node.exactStart, node.exactCount, methodBit, &best)
            return
        }
        // At least one (possibly empty) segment remains, which is what "/prefix/*" requires.
        consider(node.prefixStart, node.prefixCount, methodBit, &best)
        var segmentEnd = position
        while segmentEnd < end && path[segmentEnd] != UInt8(ascii: "/") {
            segmentEnd += 1
        }
        let next = segmentEnd < end ? segmentEnd + 1 : end + 1
        let child = findEdge(node, path + position, segmentEnd - position)
        if child >= 0 {
            search(child, next, path, end, methodBit, &best)
        }
        if node.paramChild >= 0 && segmentEnd > position {
            search(node.paramChild, next, path, end, methodBit, &best)
        }
    }

    /// Entries are sorted by rank, so the first one allowing the method is the best in the list.
    private func consider(_ start: Int32, _ count: Int32, _ methodBit: UInt16, _ best: inout Entry) {
        var index = Int(start)
        let end = index + Int(count)
        while index < end {
            let entry = entries[index]
            if entry.rank >= best.rank { return }
            if entry.methods & methodBit != 0 {
                best = entry
                return
            }
            index += 1
        }
    }

    /// Binary search of a node's literal edges, which are sorted by (length, bytes).
    private func findEdge(_ node: Node, _ segment: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
        var low = Int(node.edgeStart)
        var high = low + Int(node.edgeCount)
        while low < high {
            let middle = (low + high) >> 1
            let edge = edges[middle]
            var order = Int(edge.byteCount) - count
            if order == 0 && count > 0 {
                order = Int(memcmp(bytes.baseAddress! + Int(edge.byteStart), segment, count))
            }
            if order == 0 { return edge.child }
            if order < 0 {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return -1
    }

    /// Compares host bytes, lower-cased, with stored lower-case bytes.
    private func equalsLowercased(_ host: UnsafePointer<UInt8>, _ byteStart: Int, _ count: Int) -> Bool {
        for index in 0..<count where HTTPBytes.lowercased(host[index]) != bytes[byteStart + index] {
            return false
        }
        return true
    }

    /// Length of the host without a `:port` suffix or a trailing dot ("[::1]:80" keeps "[::1]").
    private static func hostLength(_ host: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var length = 0
        if host[0] == UInt8(ascii: "[") {
            while length < count && host[length] != UInt8(ascii: "]") {
                length += 1
            }
            length = min(length + 1, count)
        } else {
            while length < count && host[length] != UInt8(ascii: ":") {
                length += 1
            }
        }
        if length > 1 && host[length - 1] == UInt8(ascii: ".") {
            length -= 1
        }
        return length
    }

    private static func freeze<Element>(_ array: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let storage = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(array.count, 1))
        _ = storage.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: storage[0..<array.count])
    }
}
