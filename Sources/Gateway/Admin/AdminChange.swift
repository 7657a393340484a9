/// What the Admin API asks the gateway to make of a write: the whole set of API resources as it would
/// be after the write. The gateway validates the configuration it makes (file plus resources) exactly
/// as a reload does, persists the set and publishes the plan, or rejects it and changes nothing.
package typealias AdminApply = @Sendable (_ proposed: ResourceSet) -> AdminApplyResult

package enum AdminApplyResult: Sendable, Equatable {
    case applied
    /// The write would make the configuration invalid: each problem as "key.path: reason", with key
    /// paths relative to the written resource where the problem is in it.
    case rejected([String])
    /// Validation passed, but the store could not be written: nothing changed.
    case storeFailed(String)
    /// The store holds a newer version of a resource the write changes (another gateway or client wrote
    /// it since this one last saw it): nothing changed; read it again and retry.
    case conflict(String)
}
