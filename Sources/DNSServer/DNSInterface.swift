import Agent
import Glibc
import Sockets
import Synchronization

/// The agent's DNS interface: a server on its own thread and loop,
/// answering from snapshots the agent's loop publishes.
public final class DNSInterface: Sendable {
    public let endpoint: Endpoint
    private let loop: EventLoop
    private let server: LoopBound<DNSServer>
    private let holder: DNSSnapshotHolder
    /// What the DNS thread counts (read by the agent's metrics).
    public let counters: DNSCounters

    /// Binds the server (on the DNS thread) and returns once it listens,
    /// or throws what the bind threw. Call on the agent's loop thread.
    public static func start(agent: Agent, holder: DNSSnapshotHolder) throws -> DNSInterface {
        let config = agent.config
        guard let bind = Endpoint(ip: config.clientAddress, port: config.dnsPort) else {
            throw SocketError("DNS bind: invalid client address \(config.clientAddress)", errno: EINVAL)
        }
        let recursors = config.recursors.compactMap { Endpoint(parsing: $0, defaultPort: 53) }
        let timeout = GoDuration.parse(config.dns.recursorTimeout) ?? .seconds(2)
        let settings = DNSResponderSettings(config: config)
        let remote = remoteDatacenters(agent)
        serveOtherDatacenters(agent, settings: settings, holder: holder)
        let loop = try EventLoop.startThread()
        let outcome = Mutex<Result<LoopBound<DNSServer>, SocketError>?>(nil)
        let counters = DNSCounters()
        loop.execute {
            do throws(SocketError) {
                let server = try DNSServer(bind: bind, settings: settings, recursors: recursors,
                                           recursorTimeout: timeout, remote: remote, holder: holder, loop: loop,
                                           counters: counters)
                outcome.withLock { $0 = .success(LoopBound(value: server)) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        // Startup only, on the main thread: wait for the bind.
        while true {
            if let result = outcome.withLock({ $0 }) {
                switch result {
                case .success(let server):
                    return DNSInterface(endpoint: server.value.endpoint, loop: loop, server: server, holder: holder,
                                        counters: counters)
                case .failure(let error):
                    loop.stop()
                    throw error
                }
            }
            usleep(1000)
        }
    }

    private init(endpoint: Endpoint, loop: EventLoop, server: LoopBound<DNSServer>, holder: DNSSnapshotHolder,
                 counters: DNSCounters) {
        self.counters = counters
        self.endpoint = endpoint
        self.loop = loop
        self.server = server
        self.holder = holder
    }

    public func stop() { loop.stop() }

    /// Consul's `dns.domain_query` timing (per query, in milliseconds) and
    /// the answers by RCODE, for `/v1/agent/metrics`.
    public func metricReadings(node: String) -> [MetricReading] {
        let c = counters
        func counter(_ name: String, _ n: Int, _ labels: [(String, String)] = []) -> MetricReading {
            .count(name, n, labels: labels)
        }
        return [
            .timing(MetricKey("dns.domain_query", [("node", node)]), c.queryTimes),
            counter("dns.response", c.noError.load(ordering: .relaxed), [("rcode", "NOERROR")]),
            counter("dns.response", c.nxDomain.load(ordering: .relaxed), [("rcode", "NXDOMAIN")]),
            counter("dns.response", c.refused.load(ordering: .relaxed), [("rcode", "REFUSED")]),
            counter("dns.response", c.formErr.load(ordering: .relaxed), [("rcode", "FORMERR")]),
            counter("dns.response", c.servFail.load(ordering: .relaxed), [("rcode", "SERVFAIL")]),
            counter("dns.response", c.otherRcode.load(ordering: .relaxed), [("rcode", "other")]),
            counter("dns.forwarded", c.forwarded.load(ordering: .relaxed)),
            counter("dns.dropped", c.dropped.load(ordering: .relaxed)),
        ]
    }

    /// A reload: `dns_config` and `recursors` from `config` take effect on
    /// the DNS thread and for queries from other datacenters (the domains
    /// and the port stay: they need a restart). Call on the agent's loop.
    public func reload(_ config: AgentConfig, agent: Agent) {
        var effective = config
        (effective.domain, effective.altDomain) = (agent.config.domain, agent.config.altDomain)
        let settings = DNSResponderSettings(config: effective)
        let recursors = config.recursors.compactMap { Endpoint(parsing: $0, defaultPort: 53) }
        let timeout = GoDuration.parse(config.dns.recursorTimeout) ?? .seconds(2)
        Self.serveOtherDatacenters(agent, settings: settings, holder: holder)
        let server = server
        loop.execute {
            do throws(SocketError) {
                try server.value.apply(settings: settings, recursors: recursors, recursorTimeout: timeout)
            } catch {
                Log.error("dns", "reload: cannot reach the new recursors: \(error)")
            }
        }
    }

    /// Queries for other datacenters leave through the agent's federation,
    /// on the agent's loop.
    private static func remoteDatacenters(_ agent: Agent) -> DNSRemote {
        let federation = LoopBound(value: agent.federation!), agentLoop = agent.loop
        return DNSRemote { packet, dc, tcp, done in
            agentLoop.execute {
                federation.value.forward(.dns(packet: packet, tcp: tcp), to: dc) { answer in
                    switch answer {
                    case .dns(let bytes): done(.answer(bytes))
                    case .failure(let failure) where failure.code == .noPath: done(.noPath)
                    default: done(.failed)
                    }
                }
            }
        }
    }

    /// Queries other datacenters send here are answered on the agent's
    /// loop, from the same snapshots as local ones.
    private static func serveOtherDatacenters(_ agent: Agent, settings: DNSResponderSettings, holder: DNSSnapshotHolder) {
        final class Box { var responder: DNSResponder; init(_ r: DNSResponder) { responder = r } }
        let box = Box(DNSResponder(settings: settings, seed: UInt64(truncatingIfNeeded: Instant.monotonicNow().nanoseconds) ^ 0xdc))
        agent.federation.serveDNS = { packet, tcp in
            guard case .reply(let bytes) = box.responder.respond(to: packet, snapshot: holder.snapshot, transport: tcp ? .tcp : .udp) else {
                return nil
            }
            return bytes
        }
    }
}
