/// The consumers of one plan: their names, the credentials authentication plugins look up, and the
/// plugins that run for them once authenticated.
package final class ConsumerTable: @unchecked Sendable {
    /// Usernames by index.
    package let names: [String]
    /// Credentials in the order they were read, each with its consumer's index.
    package let credentials: [(consumer: Int32, credential: ConsumerCredential)]
    /// `key-auth` keys → credential index.
    package let keys: CredentialIndex
    /// `basic-auth` user names → credential index.
    package let basicUsers: CredentialIndex
    /// `jwt-auth` keys → credential index.
    package let jwtKeys: CredentialIndex
    /// `client-cert-auth` certificate subjects → credential index.
    package let clientSubjects: CredentialIndex
    /// Each consumer's own (non-authentication) plugins, or nil.
    package let chains: [PluginChain?]
    private let nameBytes: UnsafeMutableRawPointer
    private let nameRanges: [Range<Int>]

    /// No consumers (a configuration being validated, or a plan without them).
    package static let empty = ConsumerTable(names: [], credentials: [], chains: [])

    package init(
        names: [String],
        credentials: [(consumer: Int32, credential: ConsumerCredential)],
        chains: [PluginChain?]
    ) {
        self.names = names
        self.credentials = credentials
        self.chains = chains
        var keys: [(secret: [UInt8], value: Int32)] = []
        var users: [(secret: [UInt8], value: Int32)] = []
        var jwt: [(secret: [UInt8], value: Int32)] = []
        var subjects: [(secret: [UInt8], value: Int32)] = []
        for (index, item) in credentials.enumerated() {
            switch item.credential {
            case .keyAuth(let key): keys.append((Array(key.utf8), Int32(index)))
            case .basicAuth(let username, _): users.append((Array(username.utf8), Int32(index)))
            case .jwtAuth(let credential): jwt.append((Array(credential.key.utf8), Int32(index)))
            case .clientCert(let subject): subjects.append((Array(subject.utf8), Int32(index)))
            }
        }
        self.keys = CredentialIndex(keys)
        basicUsers = CredentialIndex(users)
        jwtKeys = CredentialIndex(jwt)
        clientSubjects = CredentialIndex(subjects)
        let total = names.reduce(0) { $0 + $1.utf8.count }
        let nameBytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 1)
        self.nameBytes = nameBytes
        var ranges: [Range<Int>] = []
        var offset = 0
        for name in names {
            let bytes = Array(name.utf8)
            bytes.withUnsafeBytes {
                if $0.count > 0 { (nameBytes + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            ranges.append(offset..<offset + bytes.count)
            offset += bytes.count
        }
        nameRanges = ranges
    }

    deinit {
        nameBytes.deallocate()
    }

    /// Consumer `index`'s username.
    @inline(__always)
    package func name(_ index: Int) -> UnsafeRawBufferPointer {
        let range = nameRanges[index]
        return UnsafeRawBufferPointer(start: nameBytes + range.lowerBound, count: range.count)
    }

    /// The index of the consumer named `name`, or -1 (compile time; allocates).
    package func index(named name: String) -> Int32 {
        names.firstIndex(of: name).map { Int32($0) } ?? -1
    }

    /// Consumer `index`'s plugin chain, unretained (nil when it has none).
    @inline(__always)
    package func chain(_ index: Int32) -> PluginChain? {
        index >= 0 && Int(index) < chains.count ? chains[Int(index)] : nil
    }
}
