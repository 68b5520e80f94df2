import JSON
import Membership
import Sockets

/// WAN federation: servers (gateway peers) join the WAN gossip pool and
/// serve the RPC port; every agent can send a request for another
/// datacenter, which travels client → a live server of its datacenter →
/// a live server of the target datacenter, whose own HTTP API or DNS
/// responder answers from its catalog. Loop-confined.
public final class Federation {
    unowned let agent: Agent
    private var loop: EventLoop { agent.loop }
    /// The WAN pool (servers only), members named `node.dc`.
    public private(set) var wan: GossipPool?
    private var rpcServer: RPCServer?
    private var clients: [Endpoint: RPCClient] = [:]
    private var retryJoiner: RetryJoiner?
    /// Service traffic through the gateways, and the local upstream ports.
    private(set) var gateway: Gateway!
    private var upstreamListeners: UpstreamListeners!

    /// Answers an HTTP request for this datacenter (set by the HTTP API).
    public var serveHTTP: ((_ method: String, _ target: String, _ body: [UInt8], _ reply: @escaping (RPC.HTTPAnswer) -> Void) -> Void)?
    /// Answers a DNS query for this datacenter (set by the DNS server).
    public var serveDNS: ((_ packet: [UInt8], _ tcp: Bool) -> [UInt8]?)?

    /// How long a forwarded request may take when it is not a blocking query.
    public static let requestTimeout: Duration = .seconds(30)

    /// The upstreams of services (`upstreams`), rewritten by group commit.
    private var upstreamsStore: DurableStore?

    init(agent: Agent) {
        self.agent = agent
        gateway = Gateway(federation: self, agent: agent)
        upstreamListeners = UpstreamListeners(loop: agent.loop, gateway: gateway)
        if let dataDir = agent.config.dataDir {
            upstreamsStore = DurableStore(path: dataDir + "/upstreams", what: "the upstreams", loop: agent.loop) {
                [unowned self] in upstreamsJSON()
            }
        }
    }

    /// Calls `done` once every upstream change so far is on disk.
    public func whenDurable(_ done: @escaping DurableStore.Done) {
        guard let upstreamsStore else { return done(nil) }
        upstreamsStore.whenDurable(done)
    }

    /// The upstreams listening now.
    public var upstreams: [Upstream] { upstreamListeners.all }
    /// Tunnels relaying now, and tunnel requests refused so far.
    public var tunnelStats: (active: Int, refused: Int, bytesRelayed: UInt64) { (gateway.active, gateway.refused, gateway.bytesRelayed) }

    /// Replaces the upstreams `owner` declares (a service ID; "" for
    /// flags). Those of services are kept in `-data-dir`, like the services.
    public func setUpstreams(_ upstreams: [Upstream], owner: String) throws {
        upstreamListeners.remove(owner: owner)
        defer { if !owner.isEmpty { saveUpstreams() } }
        for var upstream in upstreams {
            upstream.owner = owner
            try upstreamListeners.add(upstream)
        }
    }

    /// Drops the upstreams of services that are gone (deregistered by
    /// `DeregisterCriticalServiceAfter`, for instance).
    func pruneUpstreams(keeping services: Set<String>) {
        let gone = Set(upstreamListeners.all.map(\.owner).filter { !$0.isEmpty && !services.contains($0) })
        guard !gone.isEmpty else { return }
        for owner in gone { upstreamListeners.remove(owner: owner) }
        saveUpstreams()
    }

    private func saveUpstreams() { upstreamsStore?.rewrite() }

    private func upstreamsJSON() -> [UInt8] {
        var w = JSONWriter(pretty: false)
        w.beginArray()
        for u in upstreamListeners.all where !u.owner.isEmpty {
            w.beginObject()
            w.field("Owner", u.owner)
            w.field("DestinationName", u.destination)
            w.field("Datacenter", u.datacenter)
            w.field("LocalBindAddress", u.bindAddress)
            w.field("LocalBindPort", Int(u.bindPort))
            w.endObject()
        }
        w.endArray()
        return w.bytes
    }

    /// The upstreams saved by an earlier run, for services this agent still has.
    func restoreUpstreams(services: Set<String>) {
        guard let store = upstreamsStore, let bytes = store.load(limit: 4 << 20).snapshot else { return }
        let path = store.path
        guard let list = (try? JSONValue.parse(bytes))?.arrayValue else {
            return Log.error("agent", "ignoring unreadable \(path)")
        }
        var byOwner: [String: [Upstream]] = [:]
        for entry in list {
            guard let owner = entry["Owner"]?.stringValue, services.contains(owner),
                  case .success(let upstream) = Upstream.parse(entry: entry, owner: owner) else { continue }
            byOwner[owner, default: []].append(upstream)
        }
        for (owner, upstreams) in byOwner {
            do {
                try setUpstreams(upstreams, owner: owner)
            } catch {
                Log.error("agent", "restoring the upstreams of \(owner): \(error)")
            }
        }
    }

    /// Servers: binds the WAN pool and the RPC port, and starts `-retry-join-wan`.
    func start() throws {
        let config = agent.config
        guard config.server else { return }
        let bindIP = config.serfWANBind ?? config.bindAddress
        guard let bind = Endpoint(ip: bindIP, port: config.serfWANPort) else {
            throw AgentError("invalid WAN bind address \(bindIP)")
        }
        let advertiseIP = config.advertiseWANAddress ?? agent.advertise.ip
        guard let advertise = Endpoint(ip: advertiseIP, port: config.serfWANPort) else {
            throw AgentError("invalid WAN advertise address \(advertiseIP)")
        }
        let tags = MemberTags.wan(config: config, nodeID: agent.nodeID)
        let encryption = try KeyringFile.encryption(for: .wan, config: config)
        var settings = SWIM.Settings.wan
        settings.coordinatesEnabled = !config.disableCoordinates
        let pool = try GossipPool(label: "wan", name: "\(config.nodeName).\(config.datacenter)", bind: bind, advertise: advertise,
                                  meta: MemberTags.encode(tags), settings: settings, encryption: encryption, loop: loop)
        wan = pool
        agent.keepKeyring(of: pool, as: .wan)
        guard let rpcBind = Endpoint(ip: config.bindAddress, port: config.serverPort) else {
            throw AgentError("invalid RPC bind address \(config.bindAddress)")
        }
        let tls = agent.tls
        rpcServer = try RPCServer(bind: rpcBind, loop: loop, tls: tls.rpcServer, tlsRequired: tls.rpcRequired) { [unowned self] envelope, peer, reply in
            handle(envelope, from: peer, reply)
        }
        rpcServer?.onTunnel = { [unowned self] envelope, id, connection, rest, peer in
            gateway.accept(envelope, id: id, on: connection, rest: rest, from: peer)
        }
        let rpcMode = tls.rpcServer == nil ? "plaintext" : tls.rpcRequired ? "TLS only, client certificates required" : "TLS or plaintext"
        Log.info("agent", "WAN pool on \(bind) as \(config.nodeName).\(config.datacenter), advertising \(advertise); server RPC on \(rpcBind) (\(rpcMode))")
        if !config.retryJoinWAN.isEmpty {
            // Lost the WAN: no server of another datacenter alive.
            let isolated: () -> Bool = { [unowned self] in
                !(wan?.members.contains { $0.status == .alive && !$0.name.hasSuffix(".\(config.datacenter)") } ?? true)
            }
            retryJoiner = RetryJoiner(addresses: config.retryJoinWAN, defaultPort: config.serfWANPort, loop: loop,
                                      isolated: isolated,
                                      alive: { [unowned self] e in wan?.members.contains { $0.address == e && $0.status == .alive } ?? false }
            ) { [unowned self] endpoints, done in
                wan?.join(endpoints) { ok, errors in
                    for e in errors { Log.warn("agent", "WAN join: \(e)") }
                    if ok > 0 { Log.info("agent", "WAN join completed, synced with \(ok) servers") }
                    done(ok > 0)
                }
            }
            retryJoiner?.start()
        }
    }

    /// Leaves the WAN pool (servers), then calls `completion`.
    func leave(completion: @escaping () -> Void) {
        retryJoiner?.stop()
        rpcServer?.close()
        guard let wan else { return completion() }
        Log.info("agent", "gracefully leaving the WAN pool")
        wan.leave(propagation: .seconds(1)) {
            Log.info("agent", "left the WAN pool")
            completion()
        }
    }

    // MARK: - WAN membership

    /// WAN members in Consul's shape (`node.dc`).
    public func members() -> [MemberInfo] {
        guard let wan else { return [] }
        return wan.members.map { m in
            MemberInfo(name: m.name, address: m.address.ip, port: m.address.port, tags: MemberTags.decode(m.meta),
                       status: MemberInfo.Status(m.status, leaving: m.name == wan.instance.name && agent.isLeaving))
        }
    }

    public func join(_ addresses: [String], completion: @escaping (Result<Int, AgentError>) -> Void) {
        guard let wan else { return completion(.failure(AgentError("WAN join requires a server agent (-server)"))) }
        var endpoints: [Endpoint] = []
        for text in addresses {
            guard let e = Endpoint(parsing: text, defaultPort: agent.config.serfWANPort) else {
                return completion(.failure(AgentError("invalid address \"\(text)\": expected an IP address with an optional port")))
            }
            endpoints.append(e)
        }
        wan.join(endpoints) { ok, errors in
            completion(ok > 0 ? .success(ok) : .failure(AgentError("failed to join \(addresses.joined(separator: ", ")): \(errors.joined(separator: "; "))")))
        }
    }

    public func forceLeave(_ node: String) -> Result<Void, AgentError> {
        guard let wan, wan.instance.member(named: node) != nil else {
            return .failure(AgentError("agent: No node found with name '\(node)'"))
        }
        _ = wan.forceLeave(node)
        return .success(())
    }

    /// Every datacenter the WAN pool knows, nearest first: ours, then by
    /// the median estimated round trip to its servers from our WAN
    /// coordinate (Consul's order), else of the probes to them, then by name.
    public func knownDatacenters() -> [String] {
        let own = agent.config.datacenter
        var trips: [String: [Duration]] = [own: []]
        var estimates: [String: [Duration]] = [:]
        let origin = wan?.coordinate
        // A datacenter whose servers all left is gone (Consul keeps listing
        // it, consul #5881); one whose servers failed is only unreachable.
        for m in wan?.members ?? [] where m.status != .left {
            guard let dc = MemberTags.decode(m.meta).first(where: { $0.0 == "dc" })?.1 else { continue }
            trips[dc, default: []] += m.roundTrip.map { [$0] } ?? []
            if let estimate = wan?.coordinate(of: m.name).flatMap({ origin?.distance(to: $0) }) {
                estimates[dc, default: []].append(estimate)
            }
        }
        func median(_ dc: String) -> Duration {
            if dc == own { return .zero }
            let sorted = (estimates[dc] ?? trips[dc] ?? []).sorted()
            return sorted.isEmpty ? .seconds(3600) : sorted[sorted.count / 2]
        }
        return trips.keys.sorted { (median($0), $0) < (median($1), $1) }
    }

    // MARK: - Forwarding

    /// Sends `request` to datacenter `dc` and calls `done` with its answer.
    public func forward(_ request: RPC.Request, to dc: String, timeout: Duration = requestTimeout,
                        done: @escaping (RPC.Answer) -> Void) {
        route(RPC.Envelope(datacenter: dc, hops: 0, request: request), timeout: timeout, done: done)
    }

    /// Our datacenter's answer, or the next hop's.
    private func route(_ envelope: RPC.Envelope, timeout: Duration, done: @escaping (RPC.Answer) -> Void) {
        if envelope.datacenter == agent.config.datacenter { return serveLocally(envelope.request, done) }
        guard envelope.hops < 2 else { return done(.failure(.noPath)) }
        var next = envelope
        next.hops += 1
        if wan != nil {
            let servers = remoteServers(in: envelope.datacenter)
            guard !servers.isEmpty else { return done(.failure(.noPath)) }
            attempt(next, on: servers, of: envelope.datacenter, timeout: timeout, done: done)
        } else {
            let servers = localServers()
            guard !servers.isEmpty else { return done(.failure(RPC.Failure(.noServers, "No known Consul servers"))) }
            attempt(next, on: servers, of: agent.config.datacenter, timeout: timeout, done: done)
        }
    }

    /// Tries the servers in turn while connections fail; any answer
    /// (including a timeout, which may have run on the far side) ends it.
    func attempt(_ envelope: RPC.Envelope, on servers: [Endpoint], of dc: String, timeout: Duration,
                         done: @escaping (RPC.Answer) -> Void) {
        guard let server = servers.first else { return done(.failure(.noPath)) }
        client(for: server, of: dc).send(envelope, timeout: timeout) { [weak self] answer in
            if case .failure(let f) = answer, f.code == .connectionLost, servers.count > 1, let self {
                Log.debug("rpc", "\(server) unreachable for \(envelope.datacenter): trying another server")
                return attempt(envelope, on: Array(servers.dropFirst()), of: dc, timeout: timeout, done: done)
            }
            done(answer)
        }
    }

    /// The connection to a server of `dc`, made with TLS when this agent
    /// verifies what it dials (`verify_outgoing`).
    private func client(for endpoint: Endpoint, of dc: String) -> RPCClient {
        if let c = clients[endpoint] { return c }
        let c = RPCClient(endpoint: endpoint, loop: loop, tls: agent.tls.rpcClient, serverName: serverName(of: dc))
        clients[endpoint] = c
        return c
    }

    /// The name a server of `dc` must prove with `verify_server_hostname`
    /// (Consul's `server.<dc>.<domain>`); nil without it.
    func serverName(of dc: String) -> String? {
        guard agent.tls.verifyServerHostname else { return nil }
        let domain = agent.config.domain.hasSuffix(".") ? String(agent.config.domain.dropLast()) : agent.config.domain
        return "server.\(dc).\(domain)"
    }

    /// Live servers of `dc` in the WAN pool, as RPC endpoints, in this
    /// agent's order of preference.
    func remoteServers(in dc: String) -> [Endpoint] {
        var servers: [Endpoint] = []
        for m in wan?.members ?? [] where m.status.isLive {
            let tags = MemberTags.decode(m.meta)
            guard tags.first(where: { $0.0 == "dc" })?.1 == dc else { continue }
            let port = tags.first(where: { $0.0 == "port" }).flatMap { UInt16($0.1) } ?? 8300
            if let e = Endpoint(ip: m.address.ip, port: port) { servers.append(e) }
        }
        return preferred(servers)
    }

    /// Live servers of our datacenter (from LAN member tags), in this
    /// agent's order of preference.
    func localServers() -> [Endpoint] {
        preferred(agent.serverAddresses().compactMap { Endpoint(parsing: $0, defaultPort: 8300) })
    }

    /// Rendezvous hashing: each agent prefers the same server for as long
    /// as it lives (different agents prefer different ones). Every replica
    /// has its own `X-Consul-Index`, so a watcher whose blocking queries
    /// all reach one server sees one index move forward; a random server
    /// each time would answer at once with another's.
    private func preferred(_ servers: [Endpoint]) -> [Endpoint] {
        let me = agent.config.nodeName
        func score(_ e: Endpoint) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in Array(me.utf8) + [0] + e.addressBytes + [UInt8(e.port >> 8), UInt8(e.port & 0xff)] {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            return hash
        }
        return servers.sorted { score($0) > score($1) }
    }

    // MARK: - Serving

    /// Requests refused by the allow-list so far.
    public private(set) var refusedRequests = 0
    /// Requests taken on the server port (answered here or passed on), and
    /// those whose answer was a failure (no path, a timeout, the far side's error).
    public private(set) var servedRequests = 0
    public private(set) var failedRequests = 0
    private var refusalLog = LogLimiter()

    /// An RPC request from a peer: refused unless the allow-list has it,
    /// else ours to answer, or to pass on.
    private func handle(_ envelope: RPC.Envelope, from peer: RPCPeer, _ reply: @escaping (RPC.Answer) -> Void) {
        if let why = RPCAllowList.refusal(of: envelope.request) ?? peerRefusal(of: envelope, from: peer) {
            refusedRequests += 1
            if refusalLog.allow(peer.who, now: loop.now()) { Log.warn("rpc", "\(why) (from \(peer.who); logged once a minute per peer)") }
            return reply(.failure(RPC.Failure(.forbidden, why)))
        }
        let timeout: Duration
        if case .http(_, let target, _) = envelope.request { timeout = Self.timeout(forTarget: target) } else { timeout = Self.requestTimeout }
        servedRequests += 1
        route(envelope, timeout: timeout) { [weak self] answer in
            if case .failure = answer { self?.failedRequests += 1 }
            reply(answer)
        }
    }

    private func serveLocally(_ request: RPC.Request, _ done: @escaping (RPC.Answer) -> Void) {
        switch request {
        case .http(let method, let target, let body):
            guard let serveHTTP else { return done(.failure(RPC.Failure(.badRequest, "rpc: no HTTP API here"))) }
            serveHTTP(method, target, body) { done(.http($0)) }
        case .dns(let packet, let tcp):
            guard let answer = serveDNS?(packet, tcp) else { return done(.failure(RPC.Failure(.badRequest, "rpc: no DNS answer"))) }
            done(.dns(answer))
        case .tunnel:
            // Tunnels open on their own connection (`Gateway`), never as a request.
            done(.failure(RPC.Failure(.badRequest, "rpc: a tunnel must open its own connection")))
        case .datacenters:
            if wan != nil { return done(.datacenters(knownDatacenters())) }
            // A client asks a server of its datacenter, which sees the WAN.
            let servers = localServers()
            guard !servers.isEmpty else { return done(.datacenters([agent.config.datacenter])) }
            attempt(RPC.Envelope(datacenter: agent.config.datacenter, hops: 2, request: .datacenters), on: servers,
                    of: agent.config.datacenter, timeout: Self.requestTimeout, done: done)
        }
    }

    /// Why `peer` may not ask for `envelope` (TLS on the server port only:
    /// without it, no peer has proved anything).
    func peerRefusal(of envelope: RPC.Envelope, from peer: RPCPeer) -> String? {
        guard agent.tls.rpcServer != nil else { return nil }
        let identity = peer.identity(datacenters: knownDatacenters(), domain: agent.config.domain)
        return RPCPeerPolicy.refusal(of: envelope, from: identity, ownDatacenter: agent.config.datacenter,
                                     verifyServerHostname: agent.tls.verifyServerHostname)
    }

    /// Handshakes failed and plaintext connections closed on the server port.
    public var tlsRefusals: (plaintext: Int, handshakes: Int) {
        (rpcServer?.refusedPlaintext ?? 0, rpcServer?.failedHandshakes ?? 0)
    }

    /// Blocking queries (`?index=&wait=`) may take their whole wait on the
    /// far side: the deadline covers it (plus Consul's wait/16 jitter).
    public static func timeout(forTarget target: String) -> Duration {
        let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        var blocking = false
        var wait: Duration = .seconds(300)
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first == "index" { blocking = true }
            if parts.first == "wait", parts.count == 2, let d = GoDuration.parse(String(parts[1])) { wait = min(d, .seconds(600)) }
        }
        return blocking ? wait + wait / 16 + .seconds(15) : requestTimeout
    }
}
