// Loopback address blocks for test agents, checked free before use, and the
// member list an agent reports at GET /v1/agent/members.

import Glibc
import JSON

/// The ports one test agent uses on its own loopback address.
struct AgentPorts {
    var gossip: UInt16 = 8301
    var http: UInt16 = 8500
    var dns: UInt16 = 8600
}

enum LoopbackBlock {
    /// The first block 127.0.X.1...count, X from `thirdOctets`, on which
    /// every agent's ports are free; throws if none is.
    static func pick(count: Int, thirdOctets: [Int], ports: AgentPorts) throws(SpawnError) -> [String] {
        var busy: [String] = []
        for octet in thirdOctets {
            let addresses = (1...count).map { "127.0.\(octet).\($0)" }
            if let conflict = addresses.lazy.compactMap({ firstBusyPort($0, ports) }).first {
                busy.append(conflict)
                continue
            }
            return addresses
        }
        throw SpawnError(description: "no free loopback block for \(count) agents; busy: \(busy.joined(separator: ", "))")
    }

    /// A description of the first port of `ports` on `ip` that cannot be
    /// bound (gossip UDP+TCP, HTTP TCP, DNS UDP+TCP), or nil if all are free.
    static func firstBusyPort(_ ip: String, _ ports: AgentPorts) -> String? {
        let checks: [(UInt16, Int32, String)] = [
            (ports.gossip, Int32(SOCK_DGRAM.rawValue), "udp"), (ports.gossip, Int32(SOCK_STREAM.rawValue), "tcp"),
            (ports.http, Int32(SOCK_STREAM.rawValue), "tcp"),
            (ports.dns, Int32(SOCK_DGRAM.rawValue), "udp"), (ports.dns, Int32(SOCK_STREAM.rawValue), "tcp"),
        ]
        for (port, type, name) in checks {
            let error = bindError(ip, port, type: type)
            if error != 0 { return "\(ip):\(port)/\(name) (\(String(cString: strerror(error))))" }
        }
        return nil
    }

    /// Binds and immediately closes a socket. TCP uses SO_REUSEADDR so a
    /// TIME_WAIT left by an earlier run does not count as busy (a listener
    /// still does, on Linux).
    /// The errno of the bind, 0 if it succeeded.
    static func bindError(_ ip: String, _ port: UInt16, type: Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return EINVAL }
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        if type == Int32(SOCK_STREAM.rawValue) {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0 ? 0 : errno
    }
}

/// One entry of GET /v1/agent/members (Consul's shape).
struct MemberView: Equatable, CustomStringConvertible {
    static let alive = 1, leaving = 2, left = 3, failed = 4

    let name: String
    let addr: String
    let port: Int
    let status: Int

    var description: String { "\(name)@\(addr):\(port)=\(MemberView.statusWord(status))" }

    static func statusWord(_ status: Int) -> String {
        switch status {
        case alive: return "alive"
        case leaving: return "leaving"
        case left: return "left"
        case failed: return "failed"
        default: return "status\(status)"
        }
    }

    /// Parses the response body; throws with the body quoted if it is not a
    /// JSON array of objects with Name, Addr, Port and Status.
    static func parseList(_ body: [UInt8]) throws(SpawnError) -> [MemberView] {
        let quoted = String(decoding: body.prefix(500), as: UTF8.self)
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            throw SpawnError(description: "members: not JSON (\(error)): \(quoted)")
        }
        guard let entries = document.arrayValue else {
            throw SpawnError(description: "members: not a JSON array: \(quoted)")
        }
        var members: [MemberView] = []
        for entry in entries {
            guard let name = entry["Name"]?.stringValue, let status = entry["Status"]?.intValue else {
                throw SpawnError(description: "members: entry without Name/Status: \(quoted)")
            }
            members.append(MemberView(
                name: name, addr: entry["Addr"]?.stringValue ?? "",
                port: entry["Port"]?.intValue ?? 0, status: status))
        }
        return members
    }
}
