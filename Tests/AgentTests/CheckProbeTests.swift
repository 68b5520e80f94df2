@testable import Agent
@testable import CatalogCore
import Glibc
import JSON
import Sockets
import Synchronization
import TestSupport
import Testing

/// HTTP and TCP probes against tiny servers on the test's own loop.
@Suite struct CheckProbeTests {
    final class Box: @unchecked Sendable {
        var listeners: [TCPListener] = []
    }

    /// Serves one canned HTTP response per connection on 127.0.67.x.
    static func serve(_ response: String, on loop: EventLoop, box: Box) -> Endpoint? {
        for octet in UInt8(1)...40 {
            guard let e = Endpoint(ip: "127.0.67.\(octet)", port: 18080),
                  let listener = try? TCPListener(bind: e, loop: loop, onAccept: { socket, peer in
                      let c = TCPConnection(accepted: socket, peer: peer, loop: loop)
                      c.onBytes = { conn, _ in
                          conn.write(Array(response.utf8))
                          conn.closeWhenFlushed()
                      }
                  }) else { continue }
            box.listeners.append(listener)
            return e
        }
        return nil
    }

    @Test func httpStatusMapsToHealthAndTcpRefusalIsCritical() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let results = Mutex<[String: (Catalog.HealthStatus, String)]>([:])
        let cases = [
            ("ok", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", Catalog.HealthStatus.passing),
            ("busy", "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n", .warning),
            ("broken", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", .critical),
            ("garbage", "hello there\r\n\r\n", .critical),
        ]
        loop.execute {
            for (name, response, _) in cases {
                guard let e = Self.serve(response, on: loop, box: box) else { continue }
                CheckProbe.http("http://\(e)/health", timeout: .seconds(5), loop: loop) { status, output in
                    results.withLock { $0[name] = (status, output) }
                }
            }
            // Port 9 on loopback: nothing listens there.
            CheckProbe.tcp("127.0.67.200:9", timeout: .seconds(5), loop: loop) { status, output in
                results.withLock { $0["refused"] = (status, output) }
            }
        }
        #expect(waitUntil { results.withLock { $0.count } == cases.count + 1 })
        let got = results.withLock { $0 }
        for (name, _, expected) in cases { #expect(got[name]?.0 == expected, "\(name): \(String(describing: got[name]))") }
        #expect(got["ok"]?.1.contains("200 OK Output: hello") == true)
        #expect(got["refused"]?.0 == .critical)
        loop.execute { box.listeners.forEach { $0.close() } }
    }

    @Test func definitionsNeedAValidTargetAndInterval() throws {
        let service = Catalog.Service(id: "web", name: "web")
        func checks(_ json: String) -> Result<[Catalog.Check], Catalog.InvalidDefinition> {
            Catalog.serviceChecks((try? JSONValue.parse(json)) ?? .null, service: service)
        }
        let http = try checks(#"{"Check":{"HTTP":"http://127.0.0.1:8080/health","Interval":"10s"}}"#).get()
        #expect(http.first?.type == "http" && http.first?.timeout == "10s")
        let tcp = try checks(#"{"Check":{"TCP":"localhost:5432","Interval":"5s","Timeout":"1s"}}"#).get()
        #expect(tcp.first?.type == "tcp" && tcp.first?.target == "localhost:5432")
        for bad in [#"{"Check":{"HTTP":"ftp://x","Interval":"10s"}}"#, #"{"Check":{"HTTP":"http://a b/","Interval":"10s"}}"#, #"{"Check":{"HTTP":"http://127.0.0.1"}}"#,
                    #"{"Check":{"TCP":"127.0.0.1","Interval":"10s"}}"#, #"{"Check":{"Interval":"10s"}}"#,
                    #"{"Check":{"Args":["x"],"Interval":"10s"}}"#] {
            if case .success = checks(bad) { Issue.record("\(bad) should be refused") }
        }
    }
}
