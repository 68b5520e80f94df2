import JSON
import Membership
import Sockets
import Synchronization

/// One member of a pool as the HTTP API and CLI report it (Consul's shape).
public struct MemberInfo: Sendable, Equatable {
    /// Serf's member status codes, as `/v1/agent/members` reports them.
    public enum Status: Int, Sendable {
        case none = 0, alive = 1, leaving = 2, left = 3, failed = 4
        public var word: String {
            switch self {
            case .none: "none"
            case .alive: "alive"
            case .leaving: "leaving"
            case .left: "left"
            case .failed: "failed"
            }
        }
    }

    public var name: String
    public var address: String
    public var port: UInt16
    public var tags: [(String, String)]
    public var status: Status

    public static func == (a: MemberInfo, b: MemberInfo) -> Bool {
        a.name == b.name && a.address == b.address && a.port == b.port && a.status == b.status
            && a.tags.elementsEqual(b.tags, by: { $0 == $1 })
    }

    public func tag(_ key: String) -> String? { tags.first { $0.0 == key }?.1 }
}

extension MemberInfo.Status {
    /// Serf's view of a SWIM status: a suspect is still alive.
    init(_ status: SWIM.Status, leaving: Bool) {
        switch status {
        case .alive, .suspect: self = leaving ? .leaving : .alive
        case .dead: self = .failed
        case .left: self = .left
        }
    }
}

/// The running agent: its identity, its LAN gossip pool, joining and
/// leaving. Lives on one event loop; every method MUST be called there.
public final class Agent {
    public let config: AgentConfig
    /// The configuration as last (re)loaded: what reload changes at run
    /// time (definitions from files, script-check switches) is read here.
    public internal(set) var runtime: AgentConfig
    /// Services and checks that came from configuration files (a reload
    /// removes those no longer defined).
    var fileServiceIDs: Set<String> = []
    var fileCheckIDs: Set<String> = []
    public let nodeID: String
    public let loop: EventLoop
    public let lan: GossipPool
    public let advertise: Endpoint
    public private(set) var isLeaving = false
    private var retryJoiner: RetryJoiner?
    /// The catalog replica and this agent's own registrations.
    public let catalog: CatalogSync
    /// The WAN pool (servers) and requests for other datacenters.
    public private(set) var federation: Federation!
    /// TLS contexts of the server port, the servers it dials and HTTPS.
    public internal(set) var tls: TLSMaterial
    /// ACL policies and tokens, replicated to every agent of the datacenter.
    public let acl: ACLState
    /// Applies a reload's `dns_config` and recursors to the DNS interface
    /// (set by the agent command when DNS is on).
    public var onReloadDNS: ((AgentConfig) -> Void)?
    /// User events (`/v1/event/fire`, `/v1/event/list`).
    public let events: UserEventBus
    /// `/v1/agent/metrics`: counters and gauges of every part of the agent.
    public let metrics: MetricsRegistry
    private let startedAt: Instant

    public init(config: AgentConfig, loop: EventLoop) throws {
        self.config = config
        runtime = config
        self.loop = loop
        Log.level = config.logLevel
        Log.json.store(config.logJSON, ordering: .relaxed)
        nodeID = try NodeIdentity.load(dataDir: config.dataDir)
        tls = try TLSMaterial.load(config.tls, server: config.server, httpsPort: config.httpsPort)
        let bindIP = config.serfLANBind ?? config.bindAddress
        guard let bind = Endpoint(ip: bindIP, port: config.serfLANPort) else {
            throw NodeIdentity.Failure(description: "invalid bind address \(bindIP)")
        }
        var advertiseIP = config.advertiseAddress ?? bindIP
        if bind.isUnspecified && config.advertiseAddress == nil { advertiseIP = HostNetwork.defaultAdvertiseAddress() }
        guard let advertise = Endpoint(ip: advertiseIP, port: config.serfLANPort) else {
            throw NodeIdentity.Failure(description: "invalid advertise address \(advertiseIP)")
        }
        self.advertise = advertise
        let tags = MemberTags.lan(config: config, nodeID: nodeID)
        let encryption = try KeyringFile.encryption(for: .lan, config: config)
        var lanSettings = SWIM.Settings.lan
        lanSettings.coordinatesEnabled = !config.disableCoordinates
        lan = try GossipPool(label: "lan", name: config.nodeName, bind: bind, advertise: advertise,
                             meta: MemberTags.encode(tags), settings: lanSettings, encryption: encryption, loop: loop)
        startedAt = loop.now()
        metrics = MetricsRegistry(now: startedAt)
        let ip = advertise.ip
        // Consul's tagged addresses: `wan` is advertise_addr_wan when set (the
        // address other datacenters reach, e.g. a gateway's load balancer).
        let own = Catalog.NodeRecord(node: config.nodeName, id: nodeID, address: ip, datacenter: config.datacenter,
                                     taggedAddresses: ["lan": ip, "wan": config.advertiseWANAddress ?? ip],
                                     owner: config.nodeName)
        catalog = CatalogSync(local: own, pool: lan, loop: loop, dataDir: config.dataDir)
        lan.delegate = catalog
        catalog.checkTLS = tls.lazyCheckClients()
        acl = ACLState(settings: config.acl, writer: config.nodeName, dataDir: config.dataDir)
        catalog.acl = acl
        events = UserEventBus(pool: lan, node: config.nodeName) { [unowned catalog] in
            catalog.local.services.map { ($0.name, $0.tags) }
        }
        catalog.events = events
        federation = Federation(agent: self)
        keepKeyring(of: lan, as: .lan)
        try federation.start()
        try federation.setUpstreams(config.upstreams, owner: "")
        federation.restoreUpstreams(services: Set(catalog.local.services.map(\.id)))
        registerConfiguredDefinitions()
        registerConsulService()
        startMetrics()
        catalog.observeChanges { [unowned self] in
            federation.pruneUpstreams(keeping: Set(catalog.local.services.map(\.id)))
        }
        Log.info("agent", "started: node=\(config.nodeName) id=\(nodeID) dc=\(config.datacenter) server=\(config.server) lan=\(bind) advertise=\(advertise) gossip encryption=\(Self.describe(lan.encryption))")
        if !config.retryJoin.isEmpty {
            // Lost the pool: a client without a live server, a server without a live peer.
            let isolated: () -> Bool = { [unowned self] in
                let others = lan.members.contains { $0.name != config.nodeName && $0.status == .alive }
                return !others || (!config.server && serverAddresses().isEmpty)
            }
            retryJoiner = RetryJoiner(addresses: config.retryJoin, defaultPort: config.serfLANPort, loop: loop,
                                      isolated: isolated,
                                      alive: { [unowned self] e in lan.members.contains { $0.address == e && $0.status == .alive } }
            ) { [unowned self] endpoints, done in
                self.lan.join(endpoints) { ok, errors in
                    for e in errors { Log.warn("agent", "join: \(e)") }
                    if ok > 0 { Log.info("agent", "join completed, synced with \(ok) initial agents") }
                    done(ok > 0)
                }
            }
            retryJoiner?.start()
        }
    }

    public var uptime: Duration { loop.now() - startedAt }

    /// Why the agent should not be given traffic yet (nil: ready), for
    /// Kubernetes' readiness: it is serving, it has joined its pool when
    /// told to join one (another member alive), and it knows a live server
    /// of its datacenter (a server knows itself). The WAN is not asked:
    /// gateways of two clusters waiting on each other would never be ready.
    public var notReadyReason: String? {
        if isLeaving { return "leaving" }
        let others = lan.members.filter { $0.name != config.nodeName && $0.status == .alive }
        if !config.retryJoin.isEmpty && others.isEmpty { return "not joined: no other member of the LAN pool is alive yet" }
        if serverAddresses().isEmpty { return "no server of the datacenter is alive" }
        return nil
    }

    static func describe(_ e: GossipEncryption) -> String {
        guard let ring = e.keyring else { return "off" }
        return "on (\(ring.keys.count) keys, verify incoming \(e.verifyIncoming), outgoing \(e.verifyOutgoing))"
    }

    /// Services and checks from configuration files, registered at every
    /// start (a bad definition is logged and skipped, not fatal).
    func registerConfiguredDefinitions() {
        for json in runtime.serviceDefinitions {
            switch registerService(json, fromFile: true) {
            case .failure(let error): Log.error("agent", "config service definition skipped: \(error)")
            case .success(let id): fileServiceIDs.insert(id)
            }
        }
        for json in runtime.checkDefinitions {
            switch ServiceDefinition.parseCheck(json: json, scripts: scriptsAllowed(fromFile: true)) {
            case .success(var check):
                if !check.serviceID.isEmpty, let service = catalog.local.service(check.serviceID) {
                    check.serviceName = service.name
                    check.serviceTags = service.tags
                } else if !check.serviceID.isEmpty {
                    Log.error("agent", "config check \"\(check.id)\" skipped: unknown service \"\(check.serviceID)\"")
                    continue
                }
                catalog.register(check: check)
                fileCheckIDs.insert(check.id)
            case .failure(let error): Log.error("agent", "config check definition skipped: \(error)")
            }
        }
    }

    /// Registers a service definition (Consul's JSON): the service, its
    /// checks and its upstreams, whose ports start listening.
    /// Returns the service's ID.
    @discardableResult
    public func registerService(_ json: JSONValue, fromFile: Bool = false) -> Result<String, ServiceDefinition.Invalid> {
        let service: Catalog.Service, checks: [Catalog.Check]
        switch ServiceDefinition.parse(json: json, scripts: scriptsAllowed(fromFile: fromFile)) {
        case .failure(let error): return .failure(error)
        case .success(let parsed): (service, checks) = parsed
        }
        guard isAgentService(service.id) else {
            return .failure(ServiceDefinition.Invalid(description: "Service ID \"\(service.id)\" is the servers' own consul service"))
        }
        let local = catalog.local
        let newChecks = checks.filter { local.check($0.id) == nil }.count
        if let problem = Catalog.Limits.problem(services: local.services.count + (local.service(service.id) == nil ? 1 : 0),
                                                checks: local.checks.count + newChecks) {
            return .failure(ServiceDefinition.Invalid(description: problem))
        }
        switch Upstream.parse(definition: json, owner: service.id) {
        case .failure(let error): return .failure(ServiceDefinition.Invalid(description: error.description))
        case .success(let upstreams):
            do {
                try federation.setUpstreams(upstreams, owner: service.id)
            } catch {
                return .failure(ServiceDefinition.Invalid(description: "\(error)"))
            }
        }
        catalog.register(service, checks: checks)
        return .success(service.id)
    }

    /// Every Consul catalog lists its servers as the `consul` service (on
    /// the server port), so `consul.service.consul` finds them. It belongs
    /// to the server, not to the agent's own registrations: the agent
    /// endpoints neither list nor deregister it.
    static let consulServiceID = "consul"

    private func registerConsulService() {
        let existing = catalog.local.service(Self.consulServiceID)
        guard config.server else {
            if existing != nil { _ = catalog.deregister(serviceID: Self.consulServiceID) }
            return
        }
        let service = Catalog.Service(id: Self.consulServiceID, name: "consul", port: Int(config.serverPort))
        if existing != service { catalog.register(service) }
    }

    /// Whether `id` is a service the agent API manages (not the server's `consul`).
    public func isAgentService(_ id: String) -> Bool { !(config.server && id == Self.consulServiceID) }

    func scriptsAllowed(fromFile: Bool) -> Bool {
        runtime.enableScriptChecks || (fromFile && runtime.enableLocalScriptChecks)
    }

    public enum CheckRegistrationError: Error, CustomStringConvertible, Sendable {
        case invalid(String)
        case unknownService(String)
        public var description: String {
            switch self {
            case .invalid(let why): why
            case .unknownService(let id): "ServiceID \"\(id)\" does not exist"
            }
        }
    }

    /// `PUT /v1/agent/check/register`: a node check, or one bound to a
    /// service of this agent (`ServiceID`), replacing one with its ID.
    public func registerCheck(_ json: JSONValue) -> Result<Void, CheckRegistrationError> {
        var check: Catalog.Check
        switch ServiceDefinition.parseCheck(json: json, scripts: scriptsAllowed(fromFile: false)) {
        case .failure(let error): return .failure(.invalid(error.description))
        case .success(let parsed): check = parsed
        }
        if catalog.local.check(check.id) == nil,
           let problem = Catalog.Limits.problem(services: 0, checks: catalog.local.checks.count + 1) {
            return .failure(.invalid(problem))
        }
        if !check.serviceID.isEmpty {
            guard let service = catalog.local.service(check.serviceID) else { return .failure(.unknownService(check.serviceID)) }
            check.serviceName = service.name
            check.serviceTags = service.tags
        }
        catalog.register(check: check)
        return .success(())
    }

    /// Calls `done` on the loop once every registration and upstream made
    /// so far is on disk (at once without a data directory), else with why not.
    public func whenDurable(_ done: @escaping DurableStore.Done) {
        catalog.whenDurable { [unowned self] local in
            federation.whenDurable { upstreams in done(local ?? upstreams) }
        }
    }

    /// Removes a service of this agent, and its upstreams; false if unknown.
    public func deregisterService(_ id: String) -> Bool {
        guard isAgentService(id), catalog.deregister(serviceID: id) else { return false }
        try? federation.setUpstreams([], owner: id)
        return true
    }

    /// The LAN members in Consul's shape, this agent included.
    public func lanMembers() -> [MemberInfo] {
        lan.members.map { m in
            MemberInfo(name: m.name, address: m.address.ip, port: m.address.port, tags: MemberTags.decode(m.meta),
                       status: MemberInfo.Status(m.status, leaving: m.name == config.nodeName && isLeaving))
        }
    }

    public func localMember() -> MemberInfo? {
        lanMembers().first { $0.name == config.nodeName }
    }

    /// Alive servers of this datacenter as "ip:port" of their RPC port, sorted.
    public func serverAddresses() -> [String] {
        lanMembers().filter { $0.status == .alive && $0.tag("role") == "consul" }
            .map { m in
                let port = m.tag("port") ?? "8300"
                return m.address.contains(":") ? "[\(m.address)]:\(port)" : "\(m.address):\(port)"
            }
            .sorted()
    }

    /// Joins the LAN pool through `addresses` ("ip", "ip:port", "[v6]:port").
    public func join(_ addresses: [String], completion: @escaping (Result<Int, AgentError>) -> Void) {
        var endpoints: [Endpoint] = []
        for text in addresses {
            guard let e = Endpoint(parsing: text, defaultPort: config.serfLANPort) else {
                return completion(.failure(AgentError("invalid address \"\(text)\": expected an IP address with an optional port")))
            }
            endpoints.append(e)
        }
        lan.join(endpoints) { ok, errors in
            if ok > 0 {
                completion(.success(ok))
            } else {
                completion(.failure(AgentError("failed to join \(addresses.joined(separator: ", ")): \(errors.joined(separator: "; "))")))
            }
        }
    }

    /// Marks a failed node as left (Consul's force-leave).
    public func forceLeave(_ node: String) -> Result<Void, AgentError> {
        guard lan.instance.member(named: node) != nil else {
            return .failure(AgentError("agent: No node found with name '\(node)'"))
        }
        _ = lan.forceLeave(node)
        return .success(())
    }

    /// Leaves gracefully: the intent is gossiped for a second, then the
    /// pool stops and `completion` runs (the process then exits).
    public func leave(completion: @escaping () -> Void) {
        guard !isLeaving else { return }
        isLeaving = true
        retryJoiner?.stop()
        // Both pools at once: a server leaves the WAN as it leaves the LAN.
        var remaining = 2
        let finished = {
            remaining -= 1
            if remaining == 0 { completion() }
        }
        federation.leave(completion: finished)
        Log.info("agent", "gracefully leaving the LAN pool")
        lan.leave(propagation: .seconds(1)) {
            Log.info("agent", "left the LAN pool")
            finished()
        }
    }
}

public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
