import Agent
import Sockets

/// An address as DNS answers carry it.
public enum DNSAddress: Sendable, Equatable {
    case v4(UInt32)
    case v6([UInt8])
    /// A host name (a service registered with a name for its address): a CNAME.
    case host(DNSName)

    /// An IP literal or a host name; nil for an empty or unusable text.
    public static func parse(_ text: String) -> DNSAddress? {
        if text.isEmpty { return nil }
        if let bytes = IPAddress.parse(text) {
            if bytes.count == 4 {
                return .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
            }
            return .v6(bytes)
        }
        return DNSName(text).map { .host($0) }
    }

    var recordData: DNSRecordData {
        switch self {
        case .v4(let ip): .a(ip)
        case .v6(let bytes): .aaaa(bytes)
        case .host(let name): .cname(name)
        }
    }

    /// `<hex>.addr` labels (Consul's form for an address target): 8 hex
    /// digits for IPv4, 32 for IPv6.
    var hexLabel: [UInt8]? {
        let digits = Array("0123456789abcdef".utf8)
        switch self {
        case .v4(let ip): return (0..<8).map { digits[Int((ip >> UInt32(28 - 4 * $0)) & 0xf)] }
        case .v6(let bytes): return bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }
        case .host: return nil
        }
    }
}

/// What the DNS responder answers from: an immutable view of the catalog
/// with health already applied. The agent's loop builds a new one after
/// each catalog change and swaps it in; queries on the DNS thread read
/// whichever is current and never wait on gossip.
public final class DNSSnapshot: Sendable {
    public struct Node: Sendable {
        /// As registered (case kept): it becomes a label of SRV targets.
        public let name: [UInt8]
        public let address: DNSAddress?
        /// Node meta as TXT strings, `key=value` (RFC 1464).
        public let txt: [[UInt8]]
    }

    public struct Instance: Sendable {
        /// Index into `nodes`.
        public let node: Int
        /// The service's own address, or its node's.
        public let address: DNSAddress?
        /// The service has an address of its own: SRV targets `<hex>.addr`.
        public let hasOwnAddress: Bool
        public let port: UInt16
        /// Folded to lower case, for tag filters.
        public let tags: [[UInt8]]
        public let weight: UInt16
        /// False when a check warns (passing otherwise; critical ones are left out).
        public let passing: Bool
    }

    public let datacenter: [UInt8]
    public let nodes: [Node]
    /// Folded node name → index into `nodes`.
    public let nodeIndex: [[UInt8]: Int]
    /// Folded service name → its instances that are not critical.
    public let services: [[UInt8]: [Instance]]
    /// Servers (gateway peers) of the datacenter: the domain's NS records.
    public let servers: [Int]
    public let serial: UInt32

    public init(datacenter: String, nodes: [Node], services: [[UInt8]: [Instance]], servers: [Int], serial: UInt32) {
        self.datacenter = Array(datacenter.utf8)
        self.nodes = nodes
        var index: [[UInt8]: Int] = [:]
        for (i, node) in nodes.enumerated() { index[Self.fold(node.name[...])] = i }
        nodeIndex = index
        self.services = services
        self.servers = servers
        self.serial = serial
    }

    public static let empty = DNSSnapshot(datacenter: "dc1", nodes: [], services: [:], servers: [], serial: 1)

    @inline(__always)
    static func fold(_ label: ArraySlice<UInt8>) -> [UInt8] { label.map(DNSName.fold) }

    /// Builds a snapshot from the catalog's records. `agentIsLive` says
    /// whether the agent of a node that runs one is a live member (its
    /// `serfHealth`); nil for nodes without an agent. Pure.
    public static func build(records: some Sequence<Catalog.NodeRecord>, datacenter: String, servers serverNames: Set<String>,
                             serial: UInt32, agentIsLive: (Catalog.NodeRecord) -> Bool?) -> DNSSnapshot {
        var nodes: [Node] = []
        var services: [[UInt8]: [Instance]] = [:]
        var servers: [Int] = []
        for record in records.sorted(by: { $0.node < $1.node }) {
            let nodeAddress = DNSAddress.parse(record.address)
            let index = nodes.count
            let txt = record.meta.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)".utf8.prefix(255)) }
            nodes.append(Node(name: Array(record.node.utf8), address: nodeAddress, txt: txt))
            if serverNames.contains(record.node) { servers.append(index) }

            let nodeStatus = record.nodeHealth(agentLive: agentIsLive(record))
            for service in record.services {
                let status = record.health(of: service, nodeHealth: nodeStatus)
                guard status != .critical, (1...65535).contains(service.port) || service.port == 0 else { continue }
                let own = DNSAddress.parse(service.address)
                let weight = status == .passing ? service.weights.passing : service.weights.warning
                services[fold(Array(service.name.utf8)[...]), default: []].append(Instance(
                    node: index, address: own ?? nodeAddress, hasOwnAddress: own != nil && own != nodeAddress,
                    port: UInt16(service.port), tags: service.tags.map { fold(Array($0.utf8)[...]) },
                    weight: UInt16(clamping: weight), passing: status == .passing))
            }
        }
        return DNSSnapshot(datacenter: datacenter, nodes: nodes, services: services, servers: servers, serial: serial)
    }
}
