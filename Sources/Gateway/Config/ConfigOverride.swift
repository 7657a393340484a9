import Foundation
import Yams

/// A process-level value set from outside the configuration file: a `GATEWAY_*` environment variable or a
/// `gateway run` flag.
///
/// The loader places it into the composed YAML at the setting's key path before reading, so it is checked
/// exactly as the same value written in the file would be, and an issue about it names ``label``.
package struct ConfigOverride: Sendable, Equatable {
    /// The setting it replaces.
    package var setting: ProcessSetting
    /// The values as given: one, or several for `listen`.
    package var values: [String]
    /// ``ProcessSetting/Source/environment`` or ``ProcessSetting/Source/flag``.
    package var source: ProcessSetting.Source
    /// What issues about the value name: "GATEWAY_WORKERS" or "--listen".
    package var label: String

    package init(setting: ProcessSetting, values: [String], source: ProcessSetting.Source, label: String) {
        self.setting = setting
        self.values = values
        self.source = source
        self.label = label
    }

    /// The overrides `environment` asks for, in ``ProcessSetting`` order.
    ///
    /// A variable set to the empty string counts as unset. `GATEWAY_LISTEN` takes several addresses separated
    /// by commas.
    package static func environment(_ environment: [String: String]) -> [ConfigOverride] {
        ProcessSetting.allCases.compactMap { setting in
            guard let text = environment[setting.environmentVariable], !text.isEmpty else { return nil }
            let values =
                setting == .listen
                ? text.split(separator: ",", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                } : [text]
            return ConfigOverride(
                setting: setting,
                values: values,
                source: .environment,
                label: setting.environmentVariable
            )
        }
    }

    /// The YAML node the value stands for. Paths and level names are always strings; workers and addresses
    /// are resolved as plain YAML scalars, so `GATEWAY_LISTEN=8080` is a bare port as `listen: 8080` is.
    var node: Node {
        let tag: Tag.Name =
            switch setting {
            case .accessLogPath, .logLevel: .str
            case .workers, .listen, .controlListen, .adminListen: .implicit
            }
        let scalars = values.map { Node($0, Tag(tag), .plain) }
        guard setting == .listen, scalars.count != 1 else { return scalars.first ?? Node("", Tag(tag), .plain) }
        return Node(scalars)
    }
}
