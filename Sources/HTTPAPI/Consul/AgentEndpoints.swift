import Agent
import JSON
import Membership
import Sockets

/// `/v1/agent/*` and `/v1/status/*`.
extension ConsulAPI {
    func routeAgent(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        switch (path.first ?? "", path.count) {
        case ("members", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            var members = Self.isTrue(request, "wan") ? agent.federation.members() : agent.lanMembers()
            let all = members.count
            // Members are nodes: a token sees those it may read (WAN members are `node.dc`).
            if let view { members = members.filter { view.mayRead(node: String($0.name.split(separator: ".").first ?? "")) } }
            var response = Self.json(request) { w in
                w.beginArray()
                for m in members { Self.writeMember(m, &w) }
                w.endArray()
            }
            if members.count != all { response.headers.set("X-Consul-Results-Filtered-By-ACLs", "true") }
            respond(response)
        case ("self", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            respond(Self.json(request) { w in writeSelf(&w) })
        case ("monitor", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            respond(agentMonitor(request))
        case ("metrics", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            respond(agentMetrics(request))
        case ("reload", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let onReload else { return respond(Self.text(500, "reload is not available")) }
            onReload { result in
                switch result {
                // Consul answers a reload with an empty 200; the report is ours, for `fedagent reload`.
                case .success(let report):
                    respond(Self.json(request) { w in
                        w.beginObject()
                        w.field("Applied", report.applied)
                        w.field("NeedsRestart", report.needsRestart)
                        w.endObject()
                    })
                case .failure(let error): respond(Self.text(500, "Failed to reload configs: \(error.description)"))
                }
            }
        case ("version", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            respond(Self.json(request) { w in
                w.beginObject()
                w.field("BuildDate", FedagentVersion.buildDate)
                w.field("FIPS", "")
                w.field("HumanVersion", "fedagent v\(FedagentVersion.version)")
                w.field("Revision", "fedagent")
                w.field("Version", FedagentVersion.version)
                w.endObject()
            })
        case ("host", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            let loop = agent.loop, dataDir = agent.config.dataDir, pretty = request.query.contains("pretty")
            let box = HostReport.Reply(respond)
            // /proc and statfs are read on another thread: a statfs of a
            // hung network mount must not stall the loop.
            HostReport.queue.async {
                let body = HostReport.collect(dataDir: dataDir, pretty: pretty)
                loop.execute { box.respond(HTTPResponse(status: 200, contentType: "application/json", body: body)) }
            }
        case ("join", 2):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            let join = Self.isTrue(request, "wan") ? agent.federation.join : agent.join
            join([path[1]]) { result in
                switch result {
                case .success: respond(Self.empty())
                case .failure(let error): respond(Self.text(500, error.description))
                }
            }
        case ("leave", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            agent.leave { [weak self] in
                respond(Self.empty())
                self?.onLeft()
            }
        case ("maintenance", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let enable = Self.enableFlag(request, respond) else { return }
            agent.catalog.setNodeMaintenance(enable: enable, reason: request.query["reason"] ?? "")
            respondWhenDurable(Self.empty(), respond)
        case ("force-leave", 2):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            let result = Self.isTrue(request, "wan") ? agent.federation.forceLeave(path[1]) : agent.forceLeave(path[1])
            switch result {
            case .success: respond(Self.empty())
            case .failure(let error): respond(Self.text(500, error.description))
            }
        default:
            respond(Self.notFound())
        }
    }

    func routeStatus(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        if let bad = Self.require(request, "GET") { return respond(bad) }
        switch path.first ?? "" {
        case "leader" where path.count == 1:
            // No Raft here: the catalog is AP. The "leader" is the first
            // alive server by address, or this agent's own RPC address,
            // so that readiness probes always get a non-empty answer.
            let leader = agent.serverAddresses().first ?? ownRPCAddress()
            respond(Self.json(request) { $0.string(leader) })
        case "peers" where path.count == 1:
            let peers = agent.serverAddresses()
            respond(Self.json(request) { $0.stringArray(peers) })
        case "ready" where path.count == 1:
            // fedagent's readiness (`fedagent probe -ready`); like every
            // /v1/status route it needs no token, so a probe carries none.
            let reason = agent.notReadyReason
            var response = Self.json(request) { w in
                w.beginObject()
                w.field("Ready", reason == nil)
                if let reason { w.field("Reason", reason) }
                w.endObject()
            }
            if reason != nil { response.status = 503 }
            respond(response)
        default:
            respond(Self.notFound())
        }
    }

    func ownRPCAddress() -> String {
        let ip = agent.advertise.ip
        return agent.advertise.isIPv4 ? "\(ip):\(agent.config.serverPort)" : "[\(ip)]:\(agent.config.serverPort)"
    }

    /// One element of `/v1/agent/members`, Consul's field names and order.
    static func writeMember(_ m: MemberInfo, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("Name", m.name)
        w.field("Addr", m.address)
        w.field("Port", Int(m.port))
        w.key("Tags")
        w.beginObject()
        for (k, v) in m.tags.sorted(by: { $0.0 < $1.0 }) { w.field(k, v) }
        w.endObject()
        w.field("Status", m.status.rawValue)
        // memberlist's protocol range and Serf's delegate versions, as Consul reports them.
        w.field("ProtocolMin", 1)
        w.field("ProtocolMax", 5)
        w.field("ProtocolCur", 2)
        w.field("DelegateMin", 2)
        w.field("DelegateMax", 5)
        w.field("DelegateCur", 4)
        w.endObject()
    }

    func writeSelf(_ w: inout JSONWriter) {
        let c = agent.config
        w.beginObject()
        w.key("Config")
        w.beginObject()
        w.field("Datacenter", c.datacenter)
        w.field("PrimaryDatacenter", c.datacenter)
        w.field("NodeName", c.nodeName)
        w.field("NodeID", agent.nodeID)
        w.field("Revision", "fedagent")
        w.field("Server", c.server)
        w.field("Version", FedagentVersion.version)
        w.endObject()
        w.key("DebugConfig")
        w.beginObject()
        w.field("Datacenter", c.datacenter)
        w.field("NodeName", c.nodeName)
        w.field("NodeID", agent.nodeID)
        w.field("ServerMode", c.server)
        w.field("DevMode", c.dev)
        w.field("BindAddr", c.bindAddress)
        w.field("AdvertiseAddrLAN", agent.advertise.ip)
        w.field("ClientAddrs", [c.clientAddress])
        w.field("HTTPPort", Int(c.httpPort))
        w.field("DNSPort", Int(c.dnsPort))
        w.field("SerfPortLAN", Int(c.serfLANPort))
        w.field("SerfPortWAN", Int(c.serfWANPort))
        w.field("ServerPort", Int(c.serverPort))
        w.field("RetryJoinLAN", c.retryJoin)
        w.field("DNSDomain", c.domain)
        w.field("DataDir", c.dataDir ?? "")
        w.field("EncryptKey", c.encryptKey == nil ? "" : "hidden")
        w.field("EncryptVerifyIncoming", c.encryptVerifyIncoming)
        w.field("EncryptVerifyOutgoing", c.encryptVerifyOutgoing)
        w.endObject()
        w.key("Coord")
        w.null()
        w.key("Member")
        if let me = agent.localMember() { Self.writeMember(me, &w) } else { w.null() }
        w.key("Stats")
        w.beginObject()
        w.key("agent")
        w.beginObject()
        w.field("version", FedagentVersion.version)
        w.field("uptime_seconds", String(Int(agent.uptime.seconds)))
        w.endObject()
        w.key("consul")
        writeConsulStats(&w)
        w.key("serf_lan")
        Self.writePoolStats(agent.lan, &w)
        let tunnels = agent.federation.tunnelStats
        w.key("gateway")
        w.beginObject()
        w.field("tunnels_active", String(tunnels.active))
        w.field("tunnels_refused", String(tunnels.refused))
        w.field("upstreams", String(agent.federation.upstreams.count))
        w.endObject()
        w.key("rpc")
        w.beginObject()
        w.field("requests_refused", String(agent.federation.refusedRequests))
        let tls = agent.tls
        w.field("tls", tls.rpcServer == nil ? "off" : tls.rpcRequired ? "required" : "optional")
        w.field("tls_outgoing", tls.rpcClient == nil ? "off" : tls.verifyServerHostname ? "verify_server_hostname" : "verify")
        w.field("tls_plaintext_refused", String(agent.federation.tlsRefusals.plaintext))
        w.field("tls_handshakes_failed", String(agent.federation.tlsRefusals.handshakes))
        if let certificate = tls.certificate { w.field("tls_certificate_days_left", String(certificate.daysLeft)) }
        w.endObject()
        if let wan = agent.federation.wan {
            w.key("serf_wan")
            Self.writePoolStats(wan, &w)
        }
        w.endObject()
        w.key("Meta")
        w.beginObject()
        w.endObject()
        // Consul's way of saying there is no xDS (gRPC) server: port -1.
        w.key("xDS")
        w.beginObject()
        w.key("SupportedProxies"); w.beginObject(); w.key("envoy"); w.stringArray([]); w.endObject()
        w.field("Port", -1)
        w.key("Ports"); w.beginObject(); w.field("Plaintext", -1); w.field("TLS", -1); w.endObject()
        w.endObject()
        w.endObject()
    }

    /// `Stats.consul`, Consul's keys. Without Raft the leader is the first
    /// alive server by address (as `/v1/status/leader` says).
    func writeConsulStats(_ w: inout JSONWriter) {
        let servers = agent.serverAddresses()
        w.beginObject()
        w.field("acl", agent.config.acl.enabled ? "enabled" : "disabled")
        if agent.config.server {
            let leader = servers.first ?? ownRPCAddress()
            w.field("bootstrap", "false")
            w.field("known_datacenters", String(agent.federation.knownDatacenters().count))
            w.field("leader", leader == ownRPCAddress() ? "true" : "false")
            w.field("leader_addr", leader)
        } else {
            w.field("known_servers", String(servers.count))
        }
        w.field("server", agent.config.server ? "true" : "false")
        w.endObject()
    }

    /// One gossip pool's figures in `/v1/agent/self`'s `Stats`.
    static func writePoolStats(_ pool: GossipPool, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("members", String(pool.instance.memberCount))
        w.field("alive", String(pool.instance.liveMemberCount))
        w.field("health_score", String(pool.instance.healthScore))
        w.field("incarnation", String(pool.instance.incarnation))
        w.field("pending_broadcasts", String(pool.instance.pendingBroadcasts))
        w.field("dropped_packets", String(pool.droppedPackets))
        w.field("encrypted", pool.encryption.isOn ? "true" : "false")
        for reason in ["plaintext", "wrong_key", "encrypted_without_key", "unknown_version"] {
            w.field("refused_\(reason)", String(pool.refusedMessages[reason] ?? 0))
        }
        w.endObject()
    }
}
