import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `gateway top`: the live status page in a terminal, from the control plane's `/status/traffic`.
///
/// Redraws once a second, quits on `q` (or Ctrl-C). The terminal is put in raw mode (no echo, no line
/// buffering) while it runs and restored on every way out, including SIGINT and SIGTERM.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show the gateway's live status (rates, latency, upstream nodes) in the terminal; q quits.",
        discussion: """
            Polls URL/status/traffic every second: requests/s, 5xx ratio and p50/p99 per route over the last \
            second, active connections, every upstream node's health and circuit, config generation and last \
            reload, workers and engine, and the error budget left of every SLO objective. URL is the control \
            plane (control.listen); the default is GATEWAY_CONTROL_LISTEN when set, else \
            \(TopCommand.defaultControl).
            """
    )

    /// The control address of the shipped example configurations (config/gateway.yaml).
    static let defaultControl = "http://127.0.0.1:9091"

    @Option(name: .long, help: "Control-plane URL, e.g. http://127.0.0.1:9091 (or host:port).")
    var control: String?

    @Flag(name: .long, help: "Print one frame without colours and exit (for scripts).")
    var once = false

    func validate() throws {
        if let control, Endpoint(control) == nil {
            throw ValidationError("--control: '\(control)' is not an http://HOST:PORT URL")
        }
    }

    func run() throws {
        let text =
            control ?? ProcessInfo.processInfo.environment["GATEWAY_CONTROL_LISTEN"].map { "http://" + $0 }
            ?? Self.defaultControl
        guard let endpoint = Endpoint(text) else {
            throw ValidationError("'\(text)' is not an http://HOST:PORT URL")
        }
        if once {
            let frame = try Self.frame(endpoint, width: 200, colour: false)
            print(frame.joined(separator: "\n"))
            return
        }
        let terminal = Terminal.enter()
        defer { terminal.leave() }
        var reading = true
        while true {
            let lines =
                (try? Self.frame(endpoint, width: Terminal.width(), colour: true))
                ?? [Self.title(endpoint), "", Screen.red("control plane unreachable at \(endpoint.display)")]
            Terminal.draw(lines)
            // Wait up to a second for a key; anything but q is ignored.
            let deadline = Date().addingTimeInterval(1)
            while reading {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { break }
                switch Terminal.readKey(timeoutMilliseconds: Int32(left * 1000)) {
                case .key(let byte) where byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q"): return
                case .key, .none: continue
                case .closed: reading = false
                }
            }
            if !reading { Thread.sleep(until: deadline) }
        }
    }

    private static func title(_ endpoint: Endpoint) -> String {
        let time = Date().formatted(date: .omitted, time: .standard)
        return "gateway top · \(endpoint.display) · \(time) · q quits"
    }

    /// One screen of text from a fresh `/status/traffic`.
    static func frame(_ endpoint: Endpoint, width: Int, colour: Bool) throws -> [String] {
        let body = try endpoint.get("/status/traffic")
        guard let status = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw ValidationError("/status/traffic did not answer a JSON object")
        }
        return Screen(status: status, width: width, colour: colour).lines(title: title(endpoint))
    }
}

extension TopCommand {
    /// A control-plane address and a plain blocking HTTP/1.1 GET to it.
    struct Endpoint {
        var host: String
        var port: Int

        var display: String { "http://\(host):\(port)" }

        /// Parses `http://HOST:PORT[/]` or `HOST:PORT` (`:PORT` means 127.0.0.1).
        init?(_ text: String) {
            var rest = Substring(text)
            if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port)
            else { return nil }
            var host = String(rest[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host.isEmpty ? "127.0.0.1" : host
            self.port = port
        }

        /// `GET path` over a new connection (`Connection: close`); the body of a 200 answer.
        func get(_ path: String, timeoutSeconds: Int = 3) throws -> [UInt8] {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw ValidationError("cannot resolve \(host)")
            }
            defer { freeaddrinfo(list) }
            let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
            guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                throw ValidationError("connect to \(display): \(String(cString: strerror(errno)))")
            }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
            var sent = 0
            while sent < request.count {
                let written = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw ValidationError("send: \(String(cString: strerror(errno)))") }
                sent += written
            }
            var response: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw ValidationError("receive: \(String(cString: strerror(errno)))") }
                if count == 0 { break }
                response += chunk[0..<count]
            }
            return try Self.body(of: response, path: path)
        }

        /// The body of a complete `Connection: close` response (to its Content-Length when given).
        static func body(of response: [UInt8], path: String) throws -> [UInt8] {
            let separator = Array("\r\n\r\n".utf8)
            guard let end = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
                throw ValidationError("\(path): incomplete HTTP response")
            }
            let head = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n")
            let statusLine = head.first.map(String.init) ?? ""
            guard statusLine.split(separator: " ").dropFirst().first == "200" else {
                throw ValidationError("\(path) answered \(statusLine)")
            }
            var body = Array(response[(end + 4)...])
            for line in head.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == "content-length",
                    let length = Int(parts[1].trimmingCharacters(in: .whitespaces)), length <= body.count
                {
                    body = Array(body[..<length])
                }
            }
            return body
        }
    }

    /// Lays out one frame of text from a `/status/traffic` object.
    struct Screen {
        var status: [String: Any]
        var width: Int
        var colour: Bool

        static func red(_ text: String) -> String { "\u{1B}[31;1m" + text + "\u{1B}[0m" }

        private func cut(_ text: String) -> String {
            text.count > width ? String(text.prefix(max(width - 1, 0))) + "…" : text
        }

        private static func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }

        private static func rate(_ value: Any?) -> String {
            guard let value = value as? Double else { return "–" }
            return String(format: value < 10 ? "%.2f" : "%.1f", value)
        }

        private static func percent(_ value: Any?) -> String {
            guard let value = value as? Double else { return "–" }
            return String(format: "%.2f%%", value * 100)
        }

        private static func seconds(_ value: Any?) -> String {
            guard let value = value as? Double else { return "–" }
            return value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.2f s", value)
        }

        private static func text(_ value: Any?) -> String {
            switch value {
            case nil, is NSNull: "–"
            case let number as NSNumber: number.stringValue
            case let value?: "\(value)"
            }
        }

        static func amber(_ text: String) -> String { "\u{1B}[33;1m" + text + "\u{1B}[0m" }

        /// The SLO section: one line per objective, red once its budget is spent, amber below 25%.
        func sloLines() -> [String] {
            let slos = status["slo"] as? [[String: Any]] ?? []
            guard let first = slos.first else { return ["SLO BUDGET REMAINING", "  no SLO objectives configured"] }
            var lines = ["SLO BUDGET REMAINING (since \(Self.text(first["since"])), burn rate over the last interval)"]
            let columns = [26, 22, 9, 8, 10, 10, 12]
            func row(_ cells: [String]) -> String {
                "  " + zip(cells, columns).map { Self.pad($0, $1) }.joined()
            }
            lines.append(row(["OBJECTIVE OF", "SLO", "TARGET", "WINDOW", "ERRORS", "BURN", "BUDGET"]))
            for slo in slos {
                let subject = slo["route"].map { "route \(Self.text($0))" } ?? "upstream \(Self.text(slo["upstream"]))"
                var indicator = Self.text(slo["slo"])
                if let threshold = slo["threshold_seconds"] as? Double { indicator += " ≤ " + Self.seconds(threshold) }
                let burn = (slo["burn_rate"] as? Double).map { String(format: "%.2fx", $0) } ?? "–"
                let budget = slo["budget_remaining"] as? Double
                let line = cut(
                    row([
                        subject, indicator, "\(Self.text(slo["objective"]))%", Self.text(slo["window"]),
                        Self.percent(slo["error_ratio"]), burn, Self.percent(budget),
                    ])
                )
                switch budget {
                case let budget? where colour && budget < 0: lines.append(Self.red(line))
                case let budget? where colour && budget < 0.25: lines.append(Self.amber(line))
                default: lines.append(line)
                }
                if let note = slo["note"] as? String { lines.append("    note: " + note) }
            }
            return lines
        }

        /// "up", "warn" or "DOWN", as the status page classes its rows.
        static func state(of node: [String: Any]) -> String {
            if node["healthy"] as? Bool == false || node["circuit"] as? String == "open"
                || node["available"] as? Bool == false
            {
                return "DOWN"
            }
            return node["circuit"] as? String == "half_open" ? "warn" : "up"
        }

        func lines(title: String) -> [String] {
            var lines = [title]
            let config = status["config"] as? [String: Any] ?? [:]
            let workers = status["workers"] as? [[String: Any]] ?? []
            let running = workers.filter { $0["running"] as? Bool == true }.count
            var meta = "version \(Self.text(status["version"])) · engine \(Self.text(status["engine"]))"
            meta += " · workers \(running)/\(workers.count) · config generation \(Self.text(config["generation"]))"
            meta += " · last reload \(Self.text(config["loaded_at"]))"
            if let reloads = config["reloads"] as? [String: Any] {
                meta += " (\(Self.text(reloads["success"])) ok, \(Self.text(reloads["failure"])) failed)"
            }
            lines.append(meta)
            if let error = config["last_reload_error"] as? String {
                lines.append((colour ? Self.red : { $0 })("last reload error: \(error)"))
            }
            if status["draining"] as? Bool == true { lines.append("DRAINING") }
            let traffic = status["traffic"] as? [String: Any] ?? [:]
            lines.append(
                "requests/s \(Self.rate(traffic["requests_per_second"]))   errors \(Self.percent(traffic["error_ratio"]))"
                    + "   connections \(Self.text(traffic["connections_active"]))"
                    + "   (over \(String(format: "%.1f", traffic["interval_seconds"] as? Double ?? 0)) s)"
            )
            lines.append("")
            let columns = [24, 10, 9, 10, 10, 10]
            func row(_ cells: [String]) -> String {
                zip(cells, columns).map { Self.pad($0, $1) }.joined()
            }
            lines.append(row(["ROUTE", "REQ/S", "5XX", "P50", "P99", "TOTAL"]))
            for route in traffic["routes"] as? [[String: Any]] ?? [] {
                lines.append(
                    row([
                        Self.text(route["route"]), Self.rate(route["requests_per_second"]),
                        Self.percent(route["error_ratio"]), Self.seconds(route["p50_seconds"]),
                        Self.seconds(route["p99_seconds"]), Self.text(route["requests_total"]),
                    ])
                )
            }
            for upstream in status["upstreams"] as? [[String: Any]] ?? [] {
                lines.append("")
                let panic = upstream["panic"] as? Bool == true
                let heading = "UPSTREAM \(Self.text(upstream["id"]))" + (panic ? "  [PANIC]" : "")
                lines.append(panic && colour ? Self.red(heading) : heading)
                let nodeColumns = [22, 7, 11, 11, 26]
                func nodeRow(_ cells: [String]) -> String {
                    "  " + zip(cells, nodeColumns + [0]).map { Self.pad($0, $1) }.joined()
                }
                lines.append(nodeRow(["NODE", "STATE", "HEALTH", "CIRCUIT", "SINCE", "REASON"]))
                for node in upstream["nodes"] as? [[String: Any]] ?? [] {
                    let state = Self.state(of: node)
                    let health = (node["healthy"] as? Bool).map { $0 ? "healthy" : "unhealthy" } ?? "–"
                    let line = cut(
                        nodeRow([
                            Self.text(node["node"]), state, health, Self.text(node["circuit"]),
                            Self.text(node["since"]), Self.text(node["last_transition_reason"]),
                        ])
                    )
                    lines.append(state == "DOWN" && colour ? Self.red(line) : line)
                }
            }
            lines.append("")
            lines += sloLines()
            return lines.map { line in
                let kept = line.contains("\u{1B}") ? line : cut(line)
                return String(kept.reversed().drop { $0 == " " }.reversed())
            }
        }
    }

    /// Raw mode on the controlling terminal, restored on exit and on SIGINT/SIGTERM.
    struct Terminal {
        enum Key {
            case key(UInt8)
            case none
            case closed
        }

        /// The settings to restore, read by the signal handler (set once, before the handler is installed).
        /// On the heap, sized by the type's stride: AddressSanitizer registers a `termios` global with 57
        /// addressable bytes and then flags `tcgetattr`'s 60-byte write into it.
        nonisolated(unsafe) static let saved: UnsafeMutablePointer<termios> = {
            let pointer = UnsafeMutablePointer<termios>.allocate(capacity: 1)
            pointer.initialize(to: termios())
            return pointer
        }()
        nonisolated(unsafe) static var isRaw = false

        static func enter() -> Terminal {
            if isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, saved) == 0 {
                var raw = saved.pointee
                raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
                raw.c_cc.6 = 1  // VMIN: a read returns after one byte
                raw.c_cc.5 = 0  // VTIME
                isRaw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0
            }
            // A parent may have left these blocked (the mask is inherited): unblock them, or Ctrl-C would hang.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            for signal in [SIGINT, SIGTERM, SIGHUP] {
                sigaddset(&unblock, signal)
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { _ in
                    TopCommand.Terminal.restore()
                    _exit(130)
                }
                sigaction(signal, &action, nil)
            }
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            // The alternate screen keeps the user's scrollback; the cursor is hidden while drawing.
            write("\u{1B}[?1049h\u{1B}[?25l")
            return Terminal()
        }

        /// Async-signal-safe: only tcsetattr and write.
        static func restore() {
            if isRaw { tcsetattr(STDIN_FILENO, TCSAFLUSH, saved) }
            let leave: StaticString = "\u{1B}[?25h\u{1B}[?1049l"
            _ = Glibc.write(STDOUT_FILENO, leave.utf8Start, leave.utf8CodeUnitCount)
        }

        func leave() {
            Self.restore()
            Self.isRaw = false
        }

        static func width() -> Int {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
            return 80
        }

        static func draw(_ lines: [String]) {
            write("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\r\n") + "\r\n")
        }

        static func write(_ text: String) {
            var text = text
            text.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { return }
                    offset += written
                }
            }
        }

        /// One byte from standard input, waiting at most `timeoutMilliseconds`.
        static func readKey(timeoutMilliseconds: Int32) -> Key {
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, max(timeoutMilliseconds, 0))
            guard ready > 0 else { return .none }
            var byte: UInt8 = 0
            let count = read(STDIN_FILENO, &byte, 1)
            if count == 1 { return .key(byte) }
            if count < 0 && errno == EINTR { return .none }
            return .closed
        }
    }
}
