/// What the authentication plugins share: the `anonymous_consumer` setting.
enum AuthenticationSupport {
    /// Reads `anonymous_consumer`: the consumer a request without valid credentials counts as. While a
    /// configuration is only validated there are no consumers to look in; the plan's compile checks it.
    static func anonymousConsumer(_ settings: inout PluginSettings) -> Int32 {
        guard let name = settings.nonEmptyString("anonymous_consumer") else { return -1 }
        let consumers = settings.context.consumers
        guard consumers !== ConsumerTable.empty else { return -1 }
        let index = consumers.index(named: name)
        if index < 0 { settings.report("anonymous_consumer", "no consumer has username \"\(name)\"") }
        return index
    }
}
