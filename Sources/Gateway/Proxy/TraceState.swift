/// A client's current request in its trace (W3C Trace Context), kept in a worker slab by client slot.
///
/// Plain data. ``active`` is false for a request outside any trace (no `tracing:` section, or nothing to
/// propagate and no trace started); the rest is read only while it is true.
package struct TraceState {
    package var traceIDHigh: UInt64 = 0
    package var traceIDLow: UInt64 = 0
    /// The gateway's server span for the request: the parent of its attempts.
    package var serverSpanID: UInt64 = 0
    /// The caller's span from its `traceparent`; 0 when the gateway started the trace.
    package var parentSpanID: UInt64 = 0
    /// The current upstream attempt's client span, sent upstream as the parent in `traceparent`.
    package var attemptSpanID: UInt64 = 0
    /// Wall-clock start of the current attempt, in nanoseconds since the epoch.
    package var attemptStart: Int64 = 0
    /// Status the current attempt's response carried; 0 before one arrived.
    package var attemptStatus: UInt16 = 0
    /// Where in the upstream request block the `traceparent` value's span id starts (-1: not written).
    package var spanIDOffset: Int32 = -1
    /// W3C trace flags (bit 0: sampled).
    package var flags: UInt8 = 0
    package var active = false
    /// The incoming `traceparent` was unusable and the gateway started a new trace: its `tracestate`
    /// belongs to the discarded trace and is not forwarded.
    package var restarted = false

    package init() {}

    /// Spans are recorded for the request.
    @inline(__always)
    package var sampled: Bool { active && flags & 1 != 0 }
}
