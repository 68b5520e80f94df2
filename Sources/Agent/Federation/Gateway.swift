import Crypto
import Sockets

/// Service traffic through the gateways. A connection accepted on an
/// upstream port travels: this agent → a live server (gateway) of its
/// datacenter → a live gateway of the target datacenter → a healthy
/// instance of the service there. Each hop opens its own connection to the
/// server port with a tunnel request naming the datacenter and the
/// service, waits for `tunnelOpen`, and then relays raw bytes.
///
/// Never an open proxy: a request names a service, not an address, and a
/// gateway connects only to instances of that service registered in its
/// own catalog (not critical), at their registered ports. Anything else is
/// refused, logged and counted. With TLS on the server port a tunnel is
/// opened only for a peer that proved a certificate of the CA (and, for a
/// gateway's second hop, a server certificate of another datacenter), and
/// each hop between gateways is TLS of its own. Loop-confined.
final class Gateway {
    private unowned let federation: Federation
    private unowned let agent: Agent
    private var loop: EventLoop { agent.loop }
    /// Tunnels relaying now, through or from this agent.
    private(set) var active = 0
    /// Tunnel requests refused (unknown service, no healthy instance, no path).
    private(set) var refused = 0
    /// Bytes both ways through tunnels that have ended.
    private(set) var bytesRelayed: UInt64 = 0

    static let tunnelLimit = 4096
    static let connectTimeout: Duration = .seconds(5)
    static let idleTimeout: Duration = .seconds(3600)
    static let bufferLimit = 256 << 10

    init(federation: Federation, agent: Agent) {
        self.federation = federation
        self.agent = agent
    }

    // MARK: - Opening (an upstream port accepted a connection)

    /// Carries `client` to a healthy instance of `service` in `dc` (our own
    /// datacenter when empty); closes it if there is no way. `finished`
    /// runs once the connection is over.
    func open(service: String, datacenter dc: String, for client: TCPConnection, finished: @escaping () -> Void) {
        client.pauseReading()
        let own = agent.config.datacenter
        if dc.isEmpty || dc == own {
            return connectFirst(agent.reachableInstances(of: service), preamble: nil) { [weak self] result in
                guard let self else { return client.close() }
                switch result {
                case .success(let (upstream, rest)): splice(client, upstream, rest: rest, finished: finished)
                case .failure(let failure):
                    Log.warn("gateway", "upstream \(service): \(failure.message)")
                    client.close()
                    finished()
                }
            }
        }
        let envelope = RPC.Envelope(datacenter: dc, hops: 1, request: .tunnel(service: service))
        let gateways = federation.wan != nil ? federation.remoteServers(in: dc) : federation.localServers()
        connectFirst(gateways, preamble: envelope, serversOf: federation.wan != nil ? dc : own) { [weak self] result in
            guard let self else { return client.close() }
            switch result {
            case .success(let (upstream, rest)): splice(client, upstream, rest: rest, finished: finished)
            case .failure(let failure):
                Log.warn("gateway", "upstream \(service)@\(dc): \(failure.message)")
                client.close()
                finished()
            }
        }
    }

    // MARK: - Serving (a tunnel request came to the server port)

    func accept(_ envelope: RPC.Envelope, id: UInt64, on connection: TCPConnection, rest: [UInt8], from peer: RPCPeer) {
        guard case .tunnel(let service) = envelope.request else { return connection.close() }
        func answer(_ failure: RPC.Failure) {
            connection.write(RPC.encode(.answer(id: id, .failure(failure))))
            connection.closeWhenFlushed()
        }
        func refuse(_ failure: RPC.Failure) {
            refused += 1
            Log.warn("gateway", "refused a tunnel to \(service) in \(envelope.datacenter) from \(connection.peer.map(String.init(describing:)) ?? "?"): \(failure.message)")
            answer(failure)
        }
        if let why = federation.peerRefusal(of: envelope, from: peer) { return refuse(RPC.Failure(.forbidden, why)) }
        guard active < Self.tunnelLimit else { return refuse(RPC.Failure(.overloaded, "gateway: \(Self.tunnelLimit) tunnels open")) }
        let next: [Endpoint]
        var preamble: RPC.Envelope?
        if envelope.datacenter == agent.config.datacenter {
            next = agent.reachableInstances(of: service)
            guard !next.isEmpty else { return refuse(RPC.Failure(.refused, "no healthy instance of \(service) is registered here")) }
        } else {
            guard federation.wan != nil, envelope.hops < 2 else { return refuse(.noPath) }
            next = federation.remoteServers(in: envelope.datacenter)
            guard !next.isEmpty else { return refuse(.noPath) }
            preamble = RPC.Envelope(datacenter: envelope.datacenter, hops: envelope.hops + 1, request: envelope.request)
        }
        connectFirst(next, preamble: preamble, serversOf: envelope.datacenter) { [weak self] result in
            guard let self else { return connection.close() }
            switch result {
            case .success(let (upstream, upstreamRest)):
                connection.write(RPC.encode(.answer(id: id, .tunnelOpen)))
                if !rest.isEmpty { upstream.write(rest) }
                splice(connection, upstream, rest: upstreamRest) {}
            case .failure(let failure) where preamble != nil:
                // The next gateway's answer: it refused (and counted) it, or could not be reached.
                Log.warn("gateway", "tunnel to \(service) in \(envelope.datacenter): \(failure.message)")
                answer(failure)
            case .failure(let failure):
                refuse(failure)
            }
        }
    }

    // MARK: - Connecting and relaying

    /// Connects to the first of `endpoints` that accepts (and, with a
    /// preamble, opens the tunnel there); an endpoint that refuses or does
    /// not answer in time is skipped for the next. The result carries bytes
    /// that arrived right behind the `tunnelOpen` answer.
    /// `serversOf`: the datacenter whose servers the endpoints are (with a
    /// preamble): dialled with TLS under `verify_outgoing`, proving
    /// `server.<dc>.<domain>` under `verify_server_hostname`.
    private func connectFirst(_ endpoints: [Endpoint], preamble: RPC.Envelope?, serversOf dc: String = "",
                              done: @escaping (Result<(TCPConnection, [UInt8]), RPC.Failure>) -> Void) {
        guard let endpoint = endpoints.first else {
            return done(.failure(preamble == nil ? RPC.Failure(.refused, "no healthy instance") : .noPath))
        }
        let tryNext = { [weak self] (why: String) in
            Log.debug("gateway", "\(endpoint): \(why); trying the next one")
            guard let self else { return done(.failure(RPC.Failure(.connectionLost, why))) }
            connectFirst(Array(endpoints.dropFirst()), preamble: preamble, serversOf: dc, done: done)
        }
        guard let connection = try? TCPConnection.connect(to: endpoint, loop: loop, timeout: Self.connectTimeout) else {
            return tryNext("cannot connect")
        }
        if preamble != nil, let tls = agent.tls.rpcClient {
            guard let session = try? TLSSession(context: tls, hostname: federation.serverName(of: dc)) else {
                connection.close()
                return done(.failure(RPC.Failure(.connectionLost, "cannot start TLS to \(endpoint)")))
            }
            connection.secure(with: session)
        }
        var settled = false
        connection.onClose = { _, error in
            guard !settled else { return }
            settled = true
            tryNext(error.map { "\($0)" } ?? "closed")
        }
        guard let preamble else {
            connection.onConnected = { connection in
                settled = true
                connection.onClose = { _, _ in }
                connection.pauseReading()
                done(.success((connection, [])))
            }
            return
        }
        connection.write(RPC.encode(.request(id: 1, preamble)))
        var framer = RPCFramer()
        connection.onBytes = { connection, bytes in
            guard !settled else { return }
            guard let (body, rest) = try? framer.feedFirst(bytes) else { return }
            settled = true
            connection.onClose = { _, _ in }
            connection.onBytes = { _, _ in }
            connection.pauseReading()
            switch try? RPC.decode(body) {
            case .answer(_, .tunnelOpen)?:
                done(.success((connection, rest)))
            case .answer(_, .failure(let failure))?:
                connection.close()
                // A gateway that cannot go on is as good as down: try another.
                if failure.code == .overloaded || failure.code == .connectionLost || failure.code == .noPath, endpoints.count > 1 {
                    return tryNext(failure.message)
                }
                done(.failure(failure))
            default:
                connection.close()
                done(.failure(RPC.Failure(.badRequest, "gateway \(endpoint) answered something else")))
            }
        }
    }

    /// Relays between two established connections until both are done.
    private func splice(_ a: TCPConnection, _ b: TCPConnection, rest: [UInt8], finished: @escaping () -> Void) {
        active += 1
        if !rest.isEmpty { a.write(rest) }
        _ = TCPRelay(a, b, loop: loop, bufferLimit: Self.bufferLimit, idleTimeout: Self.idleTimeout) { [weak self] stats in
            self?.active -= 1
            self?.bytesRelayed &+= stats.bytesAToB &+ stats.bytesBToA
            finished()
        }
    }
}
