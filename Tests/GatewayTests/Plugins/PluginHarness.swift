import AccessLog
import Yams

@testable import Gateway

/// Compiles one plugin from YAML settings and runs its phases against raw request heads, without a
/// worker: the plugin unit tests' driver.
final class PluginHarness {
    let headers = HTTPHeaderIndex()
    let request: PluginRequest
    let state: UnsafeMutablePointer<PluginRequestState>
    let consumers: ConsumerTable
    private var buffer: UnsafeMutableRawBufferPointer
    private let requestID: UnsafeMutableRawBufferPointer

    init(consumers: ConsumerTable = .empty, worker: Int = 0) {
        self.consumers = consumers
        request = PluginRequest(worker: worker, headers: headers, consumers: consumers)
        state = .allocate(capacity: 1)
        state.initialize(to: PluginRequestState())
        buffer = .allocate(byteCount: 65536, alignment: 8)
        requestID = .allocate(byteCount: 32, alignment: 1)
        for index in 0..<32 { requestID[index] = UInt8(ascii: "a") + UInt8(index % 26) }
    }

    deinit {
        request.finish(state)
        state.deallocate()
        buffer.deallocate()
        requestID.deallocate()
    }

    /// Problems `settings` (YAML) for plugin `name` have, as `gateway check` would report them at
    /// `routes[0].plugins.<name>`.
    static func issues(_ name: String, _ settings: String) -> [ConfigIssue] {
        let yaml = """
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
            routes:
              - id: r
                uri: /*
                upstream_id: u
                plugins:
                  \(name): \(settings)
            """
        do {
            let config = try ConfigLoader.parse(
                yaml: yaml,
                sourceName: "test",
                environment: [:],
                resolveHostnames: false
            )
            _ = try ProxyPlan(config: config)
            return []
        } catch {
            return error.issues
        }
    }

    /// Compiles plugin `name` with `settings` (YAML flow mapping) at `scope`.
    func compile(
        _ name: String,
        _ settings: String,
        scope: PluginScope = .route("r"),
        shared: PluginSharedState? = PluginSharedState(),
        workers: Int = 1
    ) throws -> any GatewayPlugin {
        var compiler = PluginCompiler(sourceName: "test")
        let context = PluginCompileContext(consumers: consumers, shared: shared, workerCount: workers)
        let spec = PluginSpec(name: name, settings: settings, path: "routes[0].plugins.\(name)")
        guard let plugin = compiler.compile(spec, scope: scope, context: context) else {
            throw ConfigError(code: .invalid, issues: compiler.issues, sourceName: "test")
        }
        return plugin
    }

    /// Starts a request from its raw head ("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), emptying the state;
    /// `tls` says whether it came on a TLS connection, `clientSubject` its verified client certificate's
    /// subject (RFC 2253, as the worker passes it; empty for none).
    func begin(
        _ raw: String,
        now: UInt64 = 1_000_000_000,
        unixTime: Int64 = 1_800_000_000,
        peer: ClientAddress = ClientAddress(ipv4: (127, 0, 0, 1)),
        tls: Bool = false,
        clientSubject: String = ""
    ) {
        request.finish(state)
        let bytes = Array(raw.utf8)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let view = UnsafeRawBufferPointer(start: buffer.baseAddress, count: bytes.count)
        guard case .complete(let head) = HTTPParser.parseRequestHead(view, headers: headers, limits: HTTPLimits())
        else { fatalError("test request does not parse: \(raw)") }
        request.begin(
            state,
            source: view,
            head: head,
            consumers: consumers,
            now: now,
            unixTime: unixTime,
            route: 0,
            peer: peer,
            requestID: UnsafeRawBufferPointer(requestID)
        )
        // Set for every request: one request object serves a worker's plain and TLS connections alike.
        request.isTLS = tls
        // Kept after the head in the same buffer, alive until the next `begin`.
        let subject = Array(clientSubject.utf8)
        subject.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[bytes.count...]).copyMemory(from: $0) }
        request.clientSubject = UnsafeRawBufferPointer(rebasing: buffer[bytes.count..<bytes.count + subject.count])
    }

    /// Runs `phase` of `plugin` on the current request.
    func run(_ plugin: any GatewayPlugin, _ phase: PluginPhase) -> PluginVerdict {
        switch phase {
        case .rewrite: return plugin.rewrite(request)
        case .access: return plugin.access(request)
        case .headerFilter:
            plugin.headerFilter(request)
            return .proceed
        case .log:
            plugin.log(request)
            return .proceed
        }
    }

    /// Moves the current request to its response: `header_filter` and `log` see `status`.
    func respond(status: Int, upstreamStatus: Int = 0, now: UInt64 = 1_000_000_000) {
        request.resume(
            state,
            consumers: consumers,
            now: now,
            route: 0,
            status: status,
            upstreamStatus: upstreamStatus,
            requestID: UnsafeRawBufferPointer(requestID)
        )
    }

    /// The edits recorded so far, as (operation, name, value) strings.
    var edits: [(PluginEdits.Operation, String, String)] {
        var result: [(PluginEdits.Operation, String, String)] = []
        request.edits.forEachRecord { op, name, value in
            result.append((op, String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return result
    }
}

extension PluginVerdict {
    /// The rejection's status and message, or nil.
    var rejection: (status: Int, message: String)? {
        if case .reject(let status, let message) = self { return (status, String(decoding: message, as: UTF8.self)) }
        return nil
    }

    var proceeds: Bool {
        if case .proceed = self { return true }
        return false
    }
}
