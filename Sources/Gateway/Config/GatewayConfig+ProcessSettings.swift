extension GatewayConfig {
    /// Where `setting`'s effective value came from.
    package func source(of setting: ProcessSetting) -> ProcessSetting.Source {
        settingSources[setting] ?? .default
    }

    /// `setting`'s effective value as `gateway check` prints it: "0 (one per CPU core)", "127.0.0.1:8080",
    /// "off", "logs/access.log.zst (access log off)".
    package func effectiveValue(of setting: ProcessSetting) -> String {
        switch setting {
        case .workers:
            return workers == 0 ? "0 (one per CPU core)" : String(workers)
        case .listen:
            return listen.map(\.description).joined(separator: ", ")
        case .controlListen:
            return control.listen?.description ?? "off"
        case .adminListen:
            return admin.listen?.description ?? "off"
        case .accessLogPath:
            return accessLog.enabled ? accessLog.path : "\(accessLog.path) (access log off)"
        case .logLevel:
            return logLevel.rawValue
        }
    }

    /// One line per process-level setting: key, effective value, and where it came from ("env GATEWAY_LISTEN").
    package var processSettingsReport: [String] {
        let rows = ProcessSetting.allCases.map { setting in
            let source = self.source(of: setting)
            let origin = source == .environment ? "env \(setting.environmentVariable)" : source.rawValue
            return (setting.keyPath, effectiveValue(of: setting), origin)
        }
        let keyWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = rows.map(\.1.count).max() ?? 0
        return rows.map { key, value, origin in
            let paddedKey = key.padding(to: keyWidth)
            let paddedValue = value.padding(to: valueWidth)
            return "\(paddedKey)  \(paddedValue)  \(origin)"
        }
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
