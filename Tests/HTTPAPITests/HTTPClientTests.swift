import Glibc
import HTTPAPI
import Testing

@Suite struct HTTPClientTests {
    @Test func put_withBody_contentLengthResponse() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 7\r\nContent-Length: 4\r\n\r\ntrue")
        })
        let response = try HTTPClient.send(method: "PUT", host: "127.0.0.1", port: server.port,
                                           path: "/v1/agent/service/register?replace-existing-checks",
                                           body: Array(#"{"Name":"web"}"#.utf8),
                                           headers: [(name: "X-Consul-Token", value: "t")], timeoutSeconds: 10)
        server.join()
        #expect(response.status == 200)
        #expect(response.headers["x-consul-index"] == "7")
        #expect(response.body == Array("true".utf8))
        let request = try #require(server.request)
        #expect(request.method == "PUT")
        #expect(request.path == "/v1/agent/service/register")
        #expect(request.query.contains("replace-existing-checks"))
        #expect(request.headers["Host"] == "127.0.0.1:\(server.port)")
        #expect(request.headers["X-Consul-Token"] == "t")
        #expect(request.body == Array(#"{"Name":"web"}"#.utf8))
        #expect(!request.keepAlive)
    }

    @Test func get_chunkedResponseInSeveralWrites() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writeAll(connection, "5\r\nhello\r\n")
            usleep(20_000)
            writeAll(connection, "6\r\n world\r\n0\r\n\r\n")
        })
        let response = try HTTPClient.send(host: "127.0.0.1", port: server.port, path: "/v1/agent/members", timeoutSeconds: 10)
        server.join()
        #expect(response.status == 200)
        #expect(response.body == Array("hello world".utf8))
        #expect(server.request?.method == "GET")
        #expect(server.request?.headers["Content-Length"] == nil)
    }

    @Test func closeDelimitedResponse_readUntilEOF() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.0 404 Not Found\r\n\r\nno such ")
            writeAll(connection, "thing")
        })
        let response = try HTTPClient.send(method: "DELETE", host: "127.0.0.1", port: server.port, path: "/x", timeoutSeconds: 10)
        server.join()
        #expect(response.status == 404)
        #expect(response.body == Array("no such thing".utf8))
        #expect(server.request?.headers["Content-Length"] == nil)
    }

    @Test func postWithoutBody_sendsZeroLength() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        })
        let response = try HTTPClient.send(method: "POST", host: "127.0.0.1", port: server.port, path: "/v1/agent/leave", timeoutSeconds: 10)
        server.join()
        #expect(response.status == 200)
        #expect(server.request?.headers["Content-Length"] == "0")
    }

    @Test func localhostName_resolvesAndFallsBackAcrossFamilies() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        })
        let response = try HTTPClient.send(host: "localhost", port: server.port, path: "/", timeoutSeconds: 10)
        server.join()
        #expect(response.body == Array("ok".utf8))
    }

    @Test func ipv6Literal_withAndWithoutBrackets() throws {
        for host in ["::1", "[::1]"] {
            guard let server = LoopbackServer(ipv6: true, respond: { connection in
                writeAll(connection, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6")
            }) else { return }  // no IPv6 loopback in this environment
            let response = try HTTPClient.send(host: host, port: server.port, path: "/", timeoutSeconds: 10)
            server.join()
            #expect(response.body == Array("v6".utf8))
            #expect(server.request?.headers["Host"] == "[::1]:\(server.port)")
        }
    }

    @Test func silentServer_timesOut() throws {
        let server = try #require(LoopbackServer { connection in waitForPeerClose(connection) })
        #expect(throws: HTTPClientError.timedOut) {
            try HTTPClient.send(host: "127.0.0.1", port: server.port, path: "/", timeoutSeconds: 1)
        }
        server.join()
    }

    @Test func malformedResponse_isBadResponse() throws {
        let server = try #require(LoopbackServer { connection in writeAll(connection, "SSH-2.0-OpenSSH\r\n\r\n") })
        #expect(throws: HTTPClientError.badResponse(HTTPParseError(.invalidStatusLine))) {
            try HTTPClient.send(host: "127.0.0.1", port: server.port, path: "/", timeoutSeconds: 10)
        }
        server.join()
    }

    @Test func truncatedResponse_isBadResponse() throws {
        let server = try #require(LoopbackServer { connection in
            writeAll(connection, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        })
        #expect(throws: HTTPClientError.badResponse(HTTPParseError(.truncatedMessage))) {
            try HTTPClient.send(host: "127.0.0.1", port: server.port, path: "/", timeoutSeconds: 10)
        }
        server.join()
    }

    @Test func closedPort_isConnectFailed() throws {
        // Bind an ephemeral port, then free it: nothing listens there.
        let server = try #require(LoopbackServer { _ in })
        let port = server.port
        let kick = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(kick, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(kick)
        server.join()
        do {
            _ = try HTTPClient.send(host: "127.0.0.1", port: port, path: "/", timeoutSeconds: 5)
            Issue.record("expected a connection failure")
        } catch {
            guard case .connectFailed(let host, let failedPort, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(host == "127.0.0.1")
            #expect(failedPort == port)
        }
    }

    @Test func invalidRequestParts_rejectedBeforeConnecting() {
        expectInvalidRequest(path: "no-slash")
        expectInvalidRequest(path: "/a b")
        expectInvalidRequest(method: "G T", path: "/")
        expectInvalidRequest(path: "/", headers: [(name: "X", value: "a\r\nInjected: 1")])
        expectInvalidRequest(path: "/", headers: [(name: "Bad Name", value: "v")])
    }

    /// Port 1 refuses connections, so only validation can make this pass.
    private func expectInvalidRequest(method: String = "GET", path: String, headers: [(name: String, value: String)] = []) {
        do {
            _ = try HTTPClient.send(method: method, host: "127.0.0.1", port: 1, path: path, headers: headers)
            Issue.record("expected invalidRequest")
        } catch {
            guard case .invalidRequest = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }
}
