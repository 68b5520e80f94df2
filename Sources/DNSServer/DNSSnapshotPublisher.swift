import Agent
import Glibc
import Sockets
import Synchronization

/// Rebuilds the DNS snapshot on the agent's loop after catalog and
/// membership changes and hands it to the DNS thread through a
/// `DNSSnapshotHolder`. Rebuilds are coalesced: one per loop turn, and
/// under a stream of changes no more than a fifth of the loop's time (a
/// rebuild costs the catalog's size, so a rebuild per registration made
/// writes slow down as the catalog grew).
public final class DNSSnapshotPublisher {
    private let agent: Agent
    public let holder: DNSSnapshotHolder
    private var scheduled = false
    /// No rebuild starts before this: four times the last one's cost after it ended.
    private var quietUntil = Instant(nanoseconds: 0)

    public init(agent: Agent, holder: DNSSnapshotHolder = DNSSnapshotHolder()) {
        self.agent = agent
        self.holder = holder
        publish()
        agent.catalog.observeChanges { [weak self] in self?.schedule() }
        agent.acl.observeChanges { [weak self] in self?.schedule() }
    }

    private func schedule() {
        guard !scheduled else { return }
        scheduled = true
        let now = agent.loop.now()
        let wait = quietUntil > now ? quietUntil - now : .zero
        _ = agent.loop.schedule(after: wait) { [weak self] in
            self?.scheduled = false
            self?.publish()
        }
    }

    func publish() {
        let started = Instant.monotonicNow()
        defer {
            let ended = Instant.monotonicNow()
            quietUntil = ended + (ended - started) * 4
        }
        let agent = self.agent
        let live = agent.lanMembers().filter { $0.status == .alive }
        var servers = Set(live.filter { $0.tag("role") == "consul" }.map(\.name))
        if servers.isEmpty { servers = [agent.config.nodeName] }
        // Consul's SOA serial is the time of the answer; ours is the time of the catalog state.
        let serial = UInt32(truncatingIfNeeded: time(nil))
        // With ACLs, DNS answers what the default token (or anonymous) may read, as Consul's does.
        let records = agent.acl.enabled ? agent.acl.resolve(nil).authorizer?.filter(agent.catalog.replica.records.values).records ?? []
                                        : Array(agent.catalog.replica.records.values)
        let snapshot = DNSSnapshot.build(records: records, datacenter: agent.config.datacenter,
                                         servers: servers, serial: serial) { agent.agentIsLive($0) }
        holder.replace(snapshot)
    }
}
