/// A compiled plugin: one configured instance (on a route, a service, a consumer or a global rule),
/// built once per configuration plan and called synchronously on the worker threads.
///
/// Implementations are immutable after compilation except for state designed for concurrent use
/// (a rate limit's shared counters): one instance serves every worker. A phase method must not
/// allocate, block, or take a lock; it reads the request and records its decisions in `request`.
/// See docs/PLUGINS.md for how to write one.
package protocol GatewayPlugin: AnyObject, Sendable {
    /// The plugin's registry entry: its name, priority and phases.
    var descriptor: PluginDescriptor { get }

    /// Runs in the `rewrite` phase (authentication runs here, as in APISIX).
    func rewrite(_ request: PluginRequest) -> PluginVerdict
    /// Runs in the `access` phase (after the consumer is known).
    func access(_ request: PluginRequest) -> PluginVerdict
    /// Runs before the response head is written; may change response headers and the status.
    func headerFilter(_ request: PluginRequest)
    /// Runs once the request is over; `request.status` is what the client got.
    func log(_ request: PluginRequest)
}

extension GatewayPlugin {
    package func rewrite(_ request: PluginRequest) -> PluginVerdict { .proceed }
    package func access(_ request: PluginRequest) -> PluginVerdict { .proceed }
    package func headerFilter(_ request: PluginRequest) {}
    package func log(_ request: PluginRequest) {}
}
