/// An open watch (`/v3/watch`): the streamed answer, read one message at a time.
///
/// etcd's gateway answers a watch with one chunked response that never ends: one JSON object per
/// message (`{"result": {...}}`), each followed by a newline. Read from one thread.
package final class EtcdWatchStream {
    /// One watch message.
    package struct Message: Sendable, Equatable {
        /// One change.
        package struct Event: Sendable, Equatable {
            package var deleted: Bool
            package var kv: EtcdKeyValue
        }

        /// The store's revision when the message was sent.
        package var revision: Int64
        package var created = false
        package var canceled = false
        /// Set when the revision asked for was compacted: the oldest revision still there.
        package var compactRevision: Int64 = 0
        package var cancelReason = ""
        package var events: [Event] = []
    }

    private let connection: EtcdConnection
    private let head: EtcdConnection.Head
    private var pending: [UInt8] = []

    init(connection: EtcdConnection, head: EtcdConnection.Head) {
        self.connection = connection
        self.head = head
    }

    /// The member this watch is on.
    package var endpoint: EtcdSettings.Endpoint { connection.endpoint }

    package func close() { connection.close() }

    /// The next message. Throws `timeout` when none came by `deadline` (the stream stays usable), and
    /// `unreachable` when the connection ended.
    package func next(deadline: ContinuousClock.Instant) throws(EtcdError) -> Message {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { continue }
                return try Self.message(line, endpoint: endpoint)
            }
            guard let piece = try connection.readBodyPiece(head, deadline: deadline) else {
                if !pending.isEmpty {
                    defer { pending.removeAll() }
                    return try Self.message(pending, endpoint: endpoint)
                }
                throw EtcdError(.unreachable, "\(endpoint) ended the watch")
            }
            pending += piece
        }
    }

    static func message(_ line: [UInt8], endpoint: EtcdSettings.Endpoint) throws(EtcdError) -> Message {
        let json: AdminJSON
        do {
            json = try AdminJSONParser.parse(line)
        } catch {
            throw EtcdError(.protocolViolation, "a watch message from \(endpoint) is not JSON", cause: error)
        }
        if let error = json["error"] {
            let text = error["message"]?.string ?? error["error"]?.string ?? error.text
            if text.contains("compacted") { throw EtcdError(.compacted, text) }
            throw EtcdError(.server, "watch on \(endpoint): \(text)")
        }
        guard let result = json["result"] else {
            throw EtcdError(.protocolViolation, "a watch message from \(endpoint) without a result")
        }
        var message = Message(revision: EtcdClient.revision(of: result))
        if case .bool(true)? = result["created"] { message.created = true }
        if case .bool(true)? = result["canceled"] { message.canceled = true }
        message.compactRevision = EtcdCoding.int64(result["compact_revision"])
        message.cancelReason = result["cancel_reason"]?.string ?? ""
        if case .array(let events)? = result["events"] {
            for event in events {
                guard let kv = event["kv"] else { continue }
                message.events.append(
                    Message.Event(deleted: event["type"]?.string == "DELETE", kv: try EtcdKeyValue(json: kv))
                )
            }
        }
        return message
    }
}
