import Synchronization

/// The Redis endpoints the process's plugins use, each at an index that never changes while the process
/// runs: a plugin compiled for a reloaded plan finds the same connection on every worker.
///
/// Endpoints are only added (a reload that stops using one leaves it idle), and at most
/// ``capacity`` distinct ones exist, so each worker keeps a fixed array of connections.
package final class RedisEndpointRegistry: Sendable {
    /// The most distinct endpoints a process connects to.
    package static let capacity = 16

    /// The registry of the running process.
    package static let process = RedisEndpointRegistry()

    private struct Entry: Sendable {
        var endpoint: RedisEndpoint
        var address: ResolvedAddress
    }

    private let entries = Mutex<[Entry]>([])

    package init() {}

    /// The index of `endpoint`, registering it (with its resolved `address`) when new; nil when
    /// ``capacity`` endpoints exist already.
    package func index(of endpoint: RedisEndpoint, address: ResolvedAddress) -> Int? {
        entries.withLock { entries in
            if let index = entries.firstIndex(where: { $0.endpoint == endpoint }) { return index }
            guard entries.count < Self.capacity else { return nil }
            entries.append(Entry(endpoint: endpoint, address: address))
            return entries.count - 1
        }
    }

    /// Endpoint `index` and its address (workers call this once per connection they set up).
    package func endpoint(_ index: Int) -> (endpoint: RedisEndpoint, address: ResolvedAddress)? {
        entries.withLock { entries in
            index >= 0 && index < entries.count ? (entries[index].endpoint, entries[index].address) : nil
        }
    }
}
