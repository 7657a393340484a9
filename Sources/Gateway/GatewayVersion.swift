/// The gateway's version, printed by `gateway --version` and exposed in `/status`.
public enum GatewayVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
