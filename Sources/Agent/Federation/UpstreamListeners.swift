import Sockets

/// The local ports of the upstreams: each accepted connection is carried
/// by the gateway to the upstream's service. At most
/// `connectionLimit` connections per upstream at once. Loop-confined.
final class UpstreamListeners {
    private struct Entry {
        let upstream: Upstream
        let listener: TCPListener
        var connections = 0
    }

    private let loop: EventLoop
    private unowned let gateway: Gateway
    private var entries: [Endpoint: Entry] = [:]
    static let connectionLimit = 1024

    init(loop: EventLoop, gateway: Gateway) {
        self.loop = loop
        self.gateway = gateway
    }

    var all: [Upstream] { entries.values.map(\.upstream).sorted { $0.bindPort < $1.bindPort } }

    /// Listens for `upstream`; an error if its address is bad or taken.
    func add(_ upstream: Upstream) throws {
        guard let bind = Endpoint(ip: upstream.bindAddress, port: upstream.bindPort) else {
            throw AgentError("upstream \(upstream.destination): invalid bind address \(upstream.bindAddress)")
        }
        if let existing = entries[bind] {
            guard existing.upstream != upstream else { return }
            throw AgentError("upstream \(upstream.destination): \(bind) is already the upstream of \(existing.upstream.destination)")
        }
        let listener: TCPListener
        do {
            listener = try TCPListener(bind: bind, loop: loop) { [unowned self] socket, peer in accept(socket, peer, on: bind) }
        } catch {
            throw AgentError("upstream \(upstream.destination): cannot listen on \(bind): \(error)")
        }
        entries[bind] = Entry(upstream: upstream, listener: listener)
        let target = upstream.datacenter.isEmpty ? upstream.destination : "\(upstream.destination)@\(upstream.datacenter)"
        Log.info("agent", "upstream \(target) on \(bind)")
    }

    /// Stops the upstreams `owner` declared (its service was deregistered).
    func remove(owner: String) {
        for (bind, entry) in entries where entry.upstream.owner == owner {
            entry.listener.close()
            entries[bind] = nil
        }
    }

    private func accept(_ socket: Socket, _ peer: Endpoint?, on bind: Endpoint) {
        guard var entry = entries[bind], entry.connections < Self.connectionLimit else {
            Log.warn("gateway", "upstream on \(bind): \(Self.connectionLimit) connections open; refused one")
            return socket.close()
        }
        entry.connections += 1
        entries[bind] = entry
        let connection = TCPConnection(accepted: socket, peer: peer, loop: loop)
        gateway.open(service: entry.upstream.destination, datacenter: entry.upstream.datacenter, for: connection) { [weak self] in
            self?.entries[bind]?.connections -= 1
        }
    }
}
