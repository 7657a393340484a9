/// Which header carries each route's request id: `X-Request-Id`, or the `header_name` of a `request-id`
/// plugin on the route (or, when the route has none, on a global rule).
///
/// The worker gives a request its id before the plugins run (``Worker/assignRequestID(_:_:_:)``), so
/// that the access log, traces and rejection bodies all carry it; it reads this table then. Names point
/// into the plugins' own ``PluginText``, which live as long as the plan.
package final class RequestIDHeaderTable: @unchecked Sendable {
    /// Whether any route's id header is not `X-Request-Id`: false keeps the common path to one check.
    package let renamed: Bool
    /// Per route index: the header's name, or an empty buffer for `X-Request-Id`.
    private let names: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private let routeCapacity: Int
    /// The global rules' name (empty for `X-Request-Id`), for requests that match no route.
    private let global: UnsafeRawBufferPointer
    /// Keeps the plugins (and so the names' bytes) alive.
    private let owners: [RequestIDPlugin]

    /// The table for a plan's `global` chain and route chains.
    init(global globalChain: PluginChain?, routes: [PluginChain?]) {
        var owners: [RequestIDPlugin] = []
        func plugin(_ chain: PluginChain?) -> RequestIDPlugin? {
            guard let chain else { return nil }
            for entry in chain.plugins {
                if let plugin = entry.plugin as? RequestIDPlugin { return plugin }
            }
            return nil
        }
        func name(_ plugin: RequestIDPlugin?) -> UnsafeRawBufferPointer {
            guard let plugin, !plugin.isDefaultName else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            owners.append(plugin)
            return plugin.headerName.bytes
        }
        let globalPlugin = plugin(globalChain)
        global = name(globalPlugin)
        routeCapacity = routes.count
        names = .allocate(capacity: max(1, routes.count))
        var renamed = global.count > 0
        for (index, chain) in routes.enumerated() {
            // The route's own plugin decides; without one, the global rules' does.
            let bytes = name(plugin(chain) ?? globalPlugin)
            renamed = renamed || bytes.count > 0
            (names + index).initialize(to: bytes)
        }
        self.renamed = renamed
        self.owners = owners
    }

    deinit {
        names.deinitialize(count: routeCapacity)
        names.deallocate()
    }

    /// The header carrying route `index`'s id (the global rules' for -1), or an empty buffer for
    /// `X-Request-Id`.
    @inline(__always)
    package func name(route index: Int) -> UnsafeRawBufferPointer {
        index >= 0 && index < routeCapacity ? names[index] : global
    }

    /// The first value of the header `name` (any case) in a parsed head, or nil.
    @inline(__always)
    package static func value(
        named name: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        source: UnsafeRawBufferPointer
    ) -> Range<Int>? {
        var index = 0
        while index < headers.count {
            if HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: source[headers.name(index)]), name) {
                return headers.value(index)
            }
            index &+= 1
        }
        return nil
    }

    /// Whether a client's id can be kept: 1–64 visible ASCII bytes without `"` or `\`, so that it goes
    /// into headers, JSON bodies and log lines as it is.
    @inline(__always)
    package static func isSane(_ value: UnsafeRawBufferPointer) -> Bool {
        guard value.count >= 1, value.count <= 64 else { return false }
        var index = 0
        while index < value.count {
            let byte = value[index]
            if byte <= 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x5C { return false }
            index &+= 1
        }
        return true
    }
}
