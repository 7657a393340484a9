/// A worker thread's right to record into its own shard.
///
/// Obtain one per worker thread with ``MetricRegistry/registerWriter()`` and keep it on that thread:
/// every handle method that takes a writer does a plain relaxed load and store on the writer's shard,
/// which is only correct while exactly one thread records through a given writer. The type is not
/// copyable so it cannot be duplicated by accident.
public struct MetricWriter: ~Copyable, Sendable {
    /// The shard this writer records into.
    public let shardIndex: Int

    package init(shardIndex: Int) {
        self.shardIndex = shardIndex
    }
}
