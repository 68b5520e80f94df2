@testable import Agent
import Glibc
import RaftCore
import Sockets
import Synchronization
import TestSupport
import Testing

/// The Raft shell on a real loop and disk: three servers on one loop,
/// their messages handed over in memory, each log in its own data dir.
@Suite struct RaftServerTests {
    final class Cluster: @unchecked Sendable {
        var servers: [String: RaftServer] = [:]
        var applied: [String: [[UInt8]]] = [:]
    }

    static let ids = ["s1", "s2", "s3"]

    /// Starts (or restarts from `dirs`) the three servers on `loop`.
    static func start(_ cluster: Cluster, _ loop: EventLoop, dirs: [String: String], bootstrap: Bool) {
        loop.execute {
            for id in ids {
                let server = try? RaftServer(id: id, dataDir: dirs[id], loop: loop, settings: .fast) { to, bytes in
                    loop.execute { cluster.servers[to]?.receive(bytes, from: id) }
                }
                server?.onApply = { entries in
                    for entry in entries { if case .command(let c) = entry.kind { cluster.applied[id, default: []].append(c) } }
                }
                cluster.servers[id] = server
                cluster.applied[id] = []
            }
            for id in ids { cluster.servers[id]?.start(bootstrap: bootstrap ? ids : nil) }
        }
    }

    static func leader(_ cluster: Cluster, _ loop: EventLoop) -> String? {
        loop.sync { ids.first { cluster.servers[$0]?.node.role == .leader } } ?? nil
    }

    @Test func threeServersElectReplicateAndKeepTheirLogsAcrossARestart() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        var temps: [String: TempDir] = [:]
        for id in Self.ids { temps[id] = try TempDir() }
        defer { for dir in temps.values { dir.remove() } }
        let dirs = temps.mapValues(\.path)
        let cluster = Cluster()
        Self.start(cluster, loop, dirs: dirs, bootstrap: true)
        #expect(waitUntil { Self.leader(cluster, loop) != nil }, "a leader is elected")
        let leader = try #require(Self.leader(cluster, loop))
        let proposed = loop.sync {
            (0..<20).compactMap { n in try? cluster.servers[leader]?.propose(Array("put k=\(n)".utf8)) }.count
        }
        #expect(proposed == 20)
        let all = (0..<20).map { Array("put k=\($0)".utf8) }
        #expect(waitUntil { loop.sync { Self.ids.allSatisfy { cluster.applied[$0] == all } } == true },
                "every server applies the 20 commands in order")
        // Strangers' bytes change nothing.
        let term = loop.sync { cluster.servers[leader]?.node.hard.term }
        loop.execute { cluster.servers[leader]?.receive([1, 0xff, 0, 7], from: "stranger") }
        #expect(loop.sync { cluster.servers[leader]?.node.hard.term } == term)

        // Every server stops; new ones start from the same directories.
        loop.sync { for server in cluster.servers.values { server.stop() }; cluster.servers = [:] }
        Self.start(cluster, loop, dirs: dirs, bootstrap: false)
        #expect(waitUntil { Self.leader(cluster, loop) != nil }, "a leader again, from the logs on disk")
        #expect(waitUntil { loop.sync { Self.ids.allSatisfy { cluster.applied[$0] == all } } == true },
                "the committed commands are there after the restart")
        loop.sync { for server in cluster.servers.values { server.stop() }; cluster.servers = [:] }
    }

    @Test func aServerWithoutADataDirIsAOneServerClusterThatLeadsAtOnce() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let cluster = Cluster()
        loop.execute {
            let server = try? RaftServer(id: "dev", dataDir: nil, loop: loop, settings: .fast) { _, _ in }
            cluster.servers["dev"] = server
            server?.start(bootstrap: ["dev"])
        }
        #expect(waitUntil { loop.sync { cluster.servers["dev"]?.node.role == .leader } == true })
        loop.sync { cluster.servers["dev"]?.stop(); cluster.servers = [:] }
    }
}
