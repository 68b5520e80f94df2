@testable import Agent
@testable import CatalogCore
import Glibc
import JSON
import Sockets
import Synchronization
import TestSupport
import Testing

/// The check kinds beyond TTL/HTTP/TCP, HTTP's request details and
/// redirects, and the thresholds of consecutive results.
@Suite struct CheckKindsTests {
    static func parse(_ json: String, scripts: Bool = false) -> Result<Catalog.Check, Catalog.InvalidDefinition> {
        Catalog.parseCheck((try? JSONValue.parse(json)) ?? .null, defaultID: "c", defaultName: "c", scripts: scripts)
    }

    @Test func scriptChecksAreRefusedUnlessEnabled() throws {
        let json = #"{"Args":["/bin/true"],"Interval":"10s"}"#
        guard case .failure(let error) = Self.parse(json) else {
            Issue.record("a script check was accepted with scripts off")
            return
        }
        #expect(error.description.contains("enable_script_checks"))
        let check = try Self.parse(json, scripts: true).get()
        #expect(check.type == "script" && check.spec.args == ["/bin/true"] && check.timeout == "30s")
        for bad in [#"{"Args":[],"Interval":"10s"}"#, #"{"Args":[1],"Interval":"10s"}"#, #"{"Args":["/bin/true"]}"#] {
            if case .success = Self.parse(bad, scripts: true) { Issue.record("\(bad) should be refused") }
        }
    }

    @Test func definitionsOfEveryKindParse() throws {
        let udp = try Self.parse(#"{"UDP":"dns.example:53","Interval":"5s"}"#).get()
        #expect(udp.type == "udp" && udp.target == "dns.example:53")
        let alias = try Self.parse(#"{"AliasService":"web","AliasNode":"n2"}"#).get()
        #expect(alias.type == "alias" && alias.spec.aliasService == "web" && alias.spec.aliasNode == "n2" && alias.interval.isEmpty)
        let http = try Self.parse(#"""
            {"HTTP":"https://api.example:8443/h?x=1","Interval":"10s","Method":"post","Header":{"X-A":["1","2"]},
             "Body":"{}","TLSSkipVerify":true,"SuccessBeforePassing":2,"FailuresBeforeCritical":3}
            """#).get()
        #expect(http.spec.method == "POST" && http.spec.headers["X-A"] == ["1", "2"] && http.spec.body == "{}")
        #expect(http.spec.tlsSkipVerify && http.spec.successBeforePassing == 2 && http.spec.failuresBeforeCritical == 3)
        for bad in [#"{"HTTP":"http://h/","Interval":"10s","Header":{"Bad:Name":["x"]}}"#,
                    #"{"HTTP":"http://h/","Interval":"10s","Header":{"X":["a\r\nInjected: 1"]}}"#,
                    #"{"HTTP":"http://h/","Interval":"10s","Method":"GE T"}"#,
                    #"{"TTL":"10s","FailuresBeforeCritical":-1}"#,
                    #"{"UDP":"h","Interval":"10s"}"#, #"{"GRPC":"h:1","Interval":"10s"}"#] {
            if case .success = Self.parse(bad) { Issue.record("\(bad) should be refused") }
        }
    }

    @Test func thresholdsNeedConsecutiveResults() {
        var spec = Catalog.CheckSpec()
        spec.successBeforePassing = 2
        spec.failuresBeforeWarning = 1
        spec.failuresBeforeCritical = 3
        var t = Catalog.StatusThresholds()
        #expect(t.admit(.passing, spec: spec) == nil)
        #expect(t.admit(.passing, spec: spec) == .passing)
        #expect(t.admit(.critical, spec: spec) == .warning)
        #expect(t.admit(.critical, spec: spec) == .warning)
        #expect(t.admit(.critical, spec: spec) == .critical)
        #expect(t.admit(.passing, spec: spec) == nil, "one pass after failures is not enough")
        var none = Catalog.StatusThresholds()
        #expect(none.admit(.critical, spec: Catalog.CheckSpec()) == .critical)
    }

    @Test func urlsAndRedirectTargets() throws {
        let u = try #require(CheckProbe.URL("https://api.example:8443/a/b?q=1"))
        #expect(u.secure && u.host == "api.example" && u.port == 8443 && u.target == "/a/b?q=1")
        #expect(CheckProbe.URL("http://[::1]/")?.host == "::1")
        #expect(CheckProbe.URL("http://host")?.port == 80)
        #expect(u.following("/x")?.target == "/x")
        #expect(u.following("c")?.target == "/a/c")
        #expect(u.following("//other:1/y")?.host == "other")
        #expect(u.following("http://plain/")?.secure == false)
        for bad in ["http://", "http://h:0/", "http://h:99999/", "http://::1/", "http://a@b/"] {
            #expect(CheckProbe.URL(bad) == nil, "\(bad)")
        }
    }

    @Test func localRecordKeepsCheckSpecsAndReadsTheOldFormat() throws {
        var record = Catalog.NodeRecord(node: "n", address: "127.0.0.1", datacenter: "dc1", owner: "n")
        record.checks = [Catalog.Check(id: "h", name: "h", type: "http", target: "http://x/")]
        var spec = Catalog.CheckSpec()
        spec.method = "PUT"
        spec.headers = ["A": ["1"]]
        spec.args = ["/bin/x", "y"]
        spec.failuresBeforeCritical = 4
        let (back, specs) = try Catalog.RecordCodec.decodeLocal(Catalog.RecordCodec.encodeLocal(record, specs: ["h": spec, "gone": spec]))
        #expect(back == record && specs == ["h": spec])
        let (old, none) = try Catalog.RecordCodec.decodeLocal(Catalog.RecordCodec.encode(record))
        #expect(old == record && none.isEmpty)
    }

    // MARK: - Probes against real sockets

    /// Serves canned responses by request path on 127.0.68.x; records the requests.
    final class Server: @unchecked Sendable {
        var listener: TCPListener?
        let requests = Mutex<[String]>([])
        func start(_ answers: [String: String], loop: EventLoop) -> Endpoint? {
            for octet in UInt8(1)...40 {
                guard let e = Endpoint(ip: "127.0.68.\(octet)", port: 18081),
                      let l = try? TCPListener(bind: e, loop: loop, onAccept: { [self] socket, peer in
                          let c = TCPConnection(accepted: socket, peer: peer, loop: loop)
                          var got: [UInt8] = []
                          c.onBytes = { [self] conn, bytes in
                              got.append(contentsOf: bytes)
                              guard let headEnd = (0..<max(0, got.count - 3)).first(where: { got[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) })
                              else { return }
                              let text = String(decoding: got, as: UTF8.self)
                              let head = String(decoding: got[..<headEnd], as: UTF8.self).lowercased()
                              let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                                  .flatMap { Int($0.dropFirst(15).filter { $0 != " " }) } ?? 0
                              guard got.count - headEnd - 4 >= length else { return }
                              requests.withLock { $0.append(text) }
                              let path = String(text.split(separator: " ")[1])
                              conn.write(Array((answers[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").utf8))
                              conn.closeWhenFlushed()
                          }
                      }) else { continue }
                listener = l
                return e
            }
            return nil
        }
    }

    @Test func httpSendsMethodHeadersBodyAndFollowsRedirects() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let server = Server()
        let results = Mutex<[String: (Catalog.HealthStatus, String)]>([:])
        loop.execute {
            guard let e = server.start([
                "/start": "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
                "/next": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                "/keep": "HTTP/1.1 307 Temporary Redirect\r\nLocation: next\r\nContent-Length: 0\r\n\r\n",
                "/loop": "HTTP/1.1 301 Moved\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
            ], loop: loop) else { return }
            var spec = Catalog.CheckSpec()
            spec.method = "POST"
            spec.body = "ping"
            spec.headers = ["X-Probe": ["yes"], "User-Agent": ["mine"]]
            for path in ["/start", "/keep", "/loop"] {
                CheckProbe.http("http://\(e)\(path)", spec: spec, timeout: .seconds(10), loop: loop) { status, output in
                    results.withLock { $0[path] = (status, output) }
                }
            }
        }
        #expect(waitUntil { results.withLock { $0.count } == 3 })
        let got = results.withLock { $0 }
        #expect(got["/start"]?.0 == .passing && got["/keep"]?.0 == .passing, "\(got)")
        #expect(got["/loop"]?.0 == .critical && got["/loop"]?.1.contains("stopped after 10 redirects") == true)
        let requests = server.requests.withLock { $0 }
        // 302 turns the POST into a GET without a body; 307 keeps both.
        #expect(requests.contains { $0.hasPrefix("POST /start ") && $0.hasSuffix("\r\n\r\nping") && $0.contains("X-Probe: yes") })
        #expect(requests.contains { $0.hasPrefix("GET /next ") && !$0.contains("ping") })
        #expect(requests.contains { $0.hasPrefix("POST /next ") && $0.hasSuffix("ping") })
        #expect(requests.allSatisfy { $0.contains("User-Agent: mine") && !$0.contains("Consul Health Check") })
        loop.execute { server.listener?.close() }
    }

    @Test func hostNamesAreResolvedOffTheLoop() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let resolved = Mutex<[Endpoint?]>([])
        loop.execute {
            CheckProbe.resolve("localhost", port: 8080, loop: loop) { e in resolved.withLock { $0.append(e) } }
            CheckProbe.resolve("no-such-host.invalid", port: 80, loop: loop) { e in resolved.withLock { $0.append(e) } }
        }
        #expect(waitUntil { resolved.withLock { $0.count } == 2 })
        let got = resolved.withLock { $0 }
        #expect(got.contains { $0 == nil }, "an unknown name resolves to nothing")
        #expect(got.contains { $0.map { ($0.ip == "127.0.0.1" || $0.ip == "::1") && $0.port == 8080 } ?? false }, "\(got)")
    }

    @Test func udpRefusalIsCriticalAndSilenceIsPassing() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let quiet = try Socket.udp(family: AF_INET)
        defer { quiet.close() }
        let e = try #require(Endpoint(ip: "127.0.68.50", port: 18082))
        try quiet.bind(e)
        let results = Mutex<[String: Catalog.HealthStatus]>([:])
        loop.execute {
            CheckProbe.udp("127.0.68.51:9", timeout: .seconds(5), loop: loop) { status, _ in results.withLock { $0["closed"] = status } }
            CheckProbe.udp("\(e)", timeout: .milliseconds(300), loop: loop) { status, _ in results.withLock { $0["quiet"] = status } }
        }
        #expect(waitUntil { results.withLock { $0.count } == 2 })
        #expect(results.withLock { $0 } == ["closed": .critical, "quiet": .passing])
    }

    @Test func scriptsMapExitCodesBoundOutputAndTimeOut() {
        let ok = CheckProbe.runScript(["/bin/sh", "-c", "echo fine"], timeout: .seconds(20), timeoutText: "20s")
        #expect(ok.0 == .passing && ok.1 == "fine\n")
        #expect(CheckProbe.runScript(["/bin/sh", "-c", "exit 1"], timeout: .seconds(20), timeoutText: "20s").0 == .warning)
        #expect(CheckProbe.runScript(["/bin/sh", "-c", "echo bad >&2; exit 2"], timeout: .seconds(20), timeoutText: "20s") == (.critical, "bad\n"))
        let loud = CheckProbe.runScript(["/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; echo end"],
                                        timeout: .seconds(20), timeoutText: "20s")
        #expect(loud.0 == .passing && loud.1.utf8.count <= Catalog.maxOutputBytes && loud.1.hasSuffix("aend\n"))
        #expect(loud.1.hasPrefix("Captured "))
        let slow = CheckProbe.runScript(["/bin/sh", "-c", "sleep 30"], timeout: .milliseconds(300), timeoutText: "300ms")
        #expect(slow == (.critical, "Timed out (300ms) running check"))
        #expect(CheckProbe.runScript(["/nonexistent/x"], timeout: .seconds(5), timeoutText: "5s").0 == .critical)
    }
}
