/// The replicated catalog's data model, Consul's fields. Every agent owns
/// the record of its own node (and of external nodes registered through
/// it); a record travels whole, versioned by its owner, and replicas keep
/// the highest version (DESIGN.md, "Replication model").
public enum Catalog {}

extension Catalog {
    public enum HealthStatus: String, Sendable, CaseIterable, Comparable {
        case passing, warning, critical

        /// Worse is greater: the status of a set of checks is the maximum.
        public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a.rank < b.rank }
        var rank: Int {
            switch self {
            case .passing: 0
            case .warning: 1
            case .critical: 2
            }
        }
    }

    public struct Weights: Sendable, Equatable {
        public var passing: Int
        public var warning: Int
        public init(passing: Int = 1, warning: Int = 1) {
            self.passing = passing
            self.warning = warning
        }
    }

    public struct Service: Sendable, Equatable {
        public var id: String
        public var name: String
        public var tags: [String]
        /// Empty means the node's address.
        public var address: String
        public var port: Int
        public var meta: [String: String]
        public var weights: Weights
        public var enableTagOverride: Bool
        /// "" for a typical service ("connect-proxy" and the like later).
        public var kind: String

        public init(id: String, name: String, tags: [String] = [], address: String = "", port: Int = 0,
                    meta: [String: String] = [:], weights: Weights = Weights(), enableTagOverride: Bool = false,
                    kind: String = "") {
            self.id = id
            self.name = name
            self.tags = tags
            self.address = address
            self.port = port
            self.meta = meta
            self.weights = weights
            self.enableTagOverride = enableTagOverride
            self.kind = kind
        }
    }

    public struct Check: Sendable, Equatable {
        public var id: String
        public var name: String
        public var status: HealthStatus
        public var notes: String
        /// Bounded by the owner (`Catalog.maxOutputBytes`).
        public var output: String
        /// "" for a node-level check.
        public var serviceID: String
        public var serviceName: String
        public var serviceTags: [String]
        /// "ttl", "http", "tcp", "udp", "script", "alias", "serf",
        /// "maintenance" or "" (external).
        public var type: String
        public var interval: String
        public var timeout: String
        /// A TTL check's time to live ("30s"); "" for other checks.
        public var ttl: String
        /// What an HTTP check requests (a URL), a TCP or UDP check dials
        /// (host:port), or the script a script check runs (its Args joined).
        public var target: String
        /// `DeregisterCriticalServiceAfter` ("90m"): the service goes once
        /// this check has been critical that long; "" for never.
        public var deregisterCriticalAfter: String = ""
        /// How the owner runs it: set by parsing a definition, moved into
        /// `CatalogSync.specs` on registration, so records never carry it.
        public var spec = CheckSpec()

        public init(id: String, name: String, status: HealthStatus = .critical, notes: String = "", output: String = "",
                    serviceID: String = "", serviceName: String = "", serviceTags: [String] = [], type: String = "",
                    interval: String = "", timeout: String = "", ttl: String = "", target: String = "") {
            self.id = id
            self.name = name
            self.status = status
            self.notes = notes
            self.output = output
            self.serviceID = serviceID
            self.serviceName = serviceName
            self.serviceTags = serviceTags
            self.type = type
            self.interval = interval
            self.timeout = timeout
            self.ttl = ttl
            self.target = target
        }
    }

    /// One node's entry in the catalog with its services and checks: the
    /// unit of replication.
    public struct NodeRecord: Sendable, Equatable {
        public var node: String
        public var id: String
        public var address: String
        public var datacenter: String
        public var taggedAddresses: [String: String]
        public var meta: [String: String]
        /// The agent that owns (and alone changes) this record.
        public var owner: String
        /// Raised by the owner on every change; replicas keep the highest.
        public var version: UInt64
        public var services: [Service]
        public var checks: [Check]

        public init(node: String, id: String = "", address: String, datacenter: String,
                    taggedAddresses: [String: String] = [:], meta: [String: String] = [:], owner: String,
                    version: UInt64 = 0, services: [Service] = [], checks: [Check] = []) {
            self.node = node
            self.id = id
            self.address = address
            self.datacenter = datacenter
            self.taggedAddresses = taggedAddresses
            self.meta = meta
            self.owner = owner
            self.version = version
            self.services = services
            self.checks = checks
        }

        public func service(_ id: String) -> Service? { services.first { $0.id == id } }
        public func check(_ id: String) -> Check? { checks.first { $0.id == id } }

        /// The checks that decide a service instance's health: its own and the node's.
        public func checks(forService id: String) -> [Check] {
            checks.filter { $0.serviceID == id || $0.serviceID.isEmpty }
        }
    }

    /// Check output kept per check (Consul's default is 4 KiB).
    public static let maxOutputBytes = 4096
}
