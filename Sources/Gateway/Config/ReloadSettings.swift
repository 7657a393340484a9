/// How the configuration file is followed while the gateway runs (key `config:`).
package struct ReloadSettings: Sendable, Equatable {
    /// Whether a change of the configuration file triggers a reload (`config.watch`, default true).
    package var watch: Bool = true

    package init() {}
}
