import Crypto
import Sockets

/// Who is on the other end of a server-port connection: its address and,
/// over TLS, the certificate it proved it holds (verified against the CA
/// during the handshake, before any RPC byte was read).
public struct RPCPeer {
    public let endpoint: Endpoint?
    public let certificate: Certificate?
    /// Whether the connection is TLS (with or without a client certificate).
    public let secured: Bool

    public static func plaintext(_ endpoint: Endpoint?) -> RPCPeer { RPCPeer(endpoint: endpoint, certificate: nil, secured: false) }

    public var who: String { endpoint.map { "\($0.ip)" } ?? "?" }

    /// What the certificate makes the peer, in Consul's naming: a server
    /// of `dc` proves `server.<dc>.<domain>`; any other certificate of the
    /// CA is an agent; no certificate, nobody.
    public enum Identity: Equatable, Sendable {
        case anonymous
        case agent
        case server(datacenter: String)
    }

    /// `datacenters`: the ones a server certificate may name (the WAN pool's).
    public func identity(datacenters: [String], domain: String) -> Identity {
        guard let certificate else { return .anonymous }
        let suffix = domain.hasSuffix(".") ? String(domain.dropLast()) : domain
        for dc in datacenters where certificate.matches(host: "server.\(dc).\(suffix)") { return .server(datacenter: dc) }
        return .agent
    }
}

/// When the server port speaks TLS, who may ask for what beyond the
/// allow-list: tunnels only for peers that proved a certificate (a
/// server's of a datacenter of the WAN pool for a gateway's second hop),
/// and with hostname verification a request relayed from another
/// datacenter only from a server of it. Nil: allowed.
enum RPCPeerPolicy {
    static func refusal(of envelope: RPC.Envelope, from identity: RPCPeer.Identity, ownDatacenter: String,
                        verifyServerHostname: Bool) -> String? {
        let fromOtherServer: Bool
        if case .server(let dc) = identity { fromOtherServer = dc != ownDatacenter } else { fromOtherServer = false }
        switch envelope.request {
        case .tunnel(let service):
            if envelope.hops >= 2 {
                return fromOtherServer ? nil : "rpc: tunnel to \(service) refused: a gateway's hop needs a server certificate of another datacenter"
            }
            return identity == .anonymous ? "rpc: tunnel to \(service) refused: the peer presented no certificate of the CA" : nil
        case .http, .dns:
            guard verifyServerHostname, envelope.hops >= 2, !fromOtherServer else { return nil }
            return "rpc: request relayed from another datacenter refused: the peer is not a server of one (verify_server_hostname)"
        case .datacenters:
            return nil
        }
    }
}
