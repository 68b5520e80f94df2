import HTTPAPI
import Testing

/// Parses `text` fed in one piece and returns every complete request.
func parseAll(_ text: String, limits: HTTPLimits = .server) throws(HTTPParseError) -> [HTTPRequest] {
    var parser = HTTPRequestParser(limits: limits)
    parser.append(Array(text.utf8))
    var requests: [HTTPRequest] = []
    while let request = try parser.next() { requests.append(request) }
    return requests
}

func parseError(_ text: String, limits: HTTPLimits = .server) -> HTTPParseError? {
    do {
        _ = try parseAll(text, limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPRequestParserTests {
    @Test func get_withQueryAndHeaders_parsesAllParts() throws {
        let requests = try parseAll("GET /v1/health/service/web?passing&tag=a&tag=b+c HTTP/1.1\r\nHost: localhost:8500\r\nX-Consul-Token:  secret \r\nAccept: */*\r\n\r\n")
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.method == "GET")
        #expect(request.target == "/v1/health/service/web?passing&tag=a&tag=b+c")
        #expect(request.path == "/v1/health/service/web")
        #expect(request.pathSegments == ["v1", "health", "service", "web"])
        #expect(request.rawQuery == "passing&tag=a&tag=b+c")
        #expect(request.query.contains("passing"))
        #expect(request.query["passing"] == "")
        #expect(request.query.values("tag") == ["a", "b c"])
        #expect(request.version == .http11)
        #expect(request.headers["x-consul-token"] == "secret")
        #expect(request.headers.fields.map(\.name) == ["Host", "X-Consul-Token", "Accept"])
        #expect(request.body.isEmpty)
        #expect(request.keepAlive)
    }

    @Test func pipelinedRequests_comeOutOneByOne() throws {
        let text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloPOST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n"
        let requests = try parseAll(text)
        #expect(requests.map(\.path) == ["/a", "/b", "/c", "/d"])
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["", "hello", "abc", ""])
    }

    @Test func bytesArrivingOneAtATime_giveSameRequests() throws {
        let text = "\r\nPOST /v1/agent/service/register?replace-existing-checks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nDELETE /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nok"
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in text.utf8 {
            parser.append([byte])
            while let request = try parser.next() { requests.append(request) }
        }
        #expect(requests.count == 2)
        #expect(requests.first?.body == Array("Wikipedia".utf8))
        #expect(requests.first?.query.contains("replace-existing-checks") == true)
        #expect(requests.last?.method == "DELETE")
        #expect(requests.last?.body == Array("ok".utf8))
        #expect(parser.isIdle)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func unsafeRawBufferAppend_works() throws {
        var parser = HTTPRequestParser()
        Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8).withUnsafeBytes { parser.append($0) }
        #expect(try parser.next()?.path == "/")
    }

    @Test func incompleteRequest_returnsNilUntilComplete() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /kv HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab".utf8))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        parser.append(Array("cd".utf8))
        #expect(try parser.next()?.body == Array("abcd".utf8))
        #expect(try parser.next() == nil)
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true), ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", false), ("HTTP/1.1", "Connection: upgrade\r\n", true),
        ("HTTP/1.0", "", false), ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: Upgrade, Keep-Alive\r\n", true), ("HTTP/1.0", "Connection: keep-alive\r\nConnection: close\r\n", false),
    ])
    func keepAlive_followsVersionAndConnectionHeader(version: String, header: String, expected: Bool) throws {
        let requests = try parseAll("GET / \(version)\r\nHost: h\r\n\(header)\r\n")
        #expect(requests.first?.keepAlive == expected)
    }

    @Test func contentLength_identicalDuplicatesAccepted() throws {
        let requests = try parseAll("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc")
        #expect(requests.first?.body == Array("abc".utf8))
    }

    @Test func chunkedBody_uppercaseHexAndExtensionsAndTrailers() throws {
        let requests = try parseAll("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\nA ; name=\"v\"\r\n0123456789\r\n00\r\nX-Trailer: 1\r\nY: 2\r\n\r\n")
        #expect(requests.first?.body == Array("0123456789".utf8))
    }

    @Test func absoluteFormAndAsteriskTargets() throws {
        let absolute = try parseAll("GET http://example.com:8500/v1/status/leader?dc=dc2 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(absolute.first?.path == "/v1/status/leader")
        #expect(absolute.first?.query["dc"] == "dc2")
        let bare = try parseAll("GET HTTPS://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(bare.first?.path == "/")
        #expect(bare.first?.query["x"] == "1")
        let options = try parseAll("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(options.first?.path == "*")
    }

    @Test func encodedPath_decodedAndSegmentsKeepEncodedSlash() throws {
        let request = try #require(try parseAll("GET /v1/kv/a%2Fb/c+d%20e/ HTTP/1.1\r\nHost: h\r\n\r\n").first)
        #expect(request.rawPath == "/v1/kv/a%2Fb/c+d%20e/")
        #expect(request.path == "/v1/kv/a/b/c+d e/")
        #expect(request.pathSegments == ["v1", "kv", "a/b", "c+d e", ""])
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\nHost: h\r\n\r\n", HTTPParseError.Kind.bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: h\n\n", .bareLineFeed),
        ("\n", .bareLineFeed),
        ("GET /HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod),
        (" / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET /a\u{1}b HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET /é HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET * HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget),
        ("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .invalidVersion),
        ("GET / http/1.1\r\nHost: h\r\n\r\n", .invalidVersion),
        ("GET / HTTP/1.x\r\nHost: h\r\n\r\n", .invalidVersion),
        ("GET / HTTP/11\r\nHost: h\r\n\r\n", .invalidVersion),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.2\r\nHost: h\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .headerWithoutColon),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHost),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", .invalidContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", .invalidContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,\r\n\r\n", .invalidContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .conflictingContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", .conflictingContentLength),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", .unsupportedTransferEncoding),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", .bodyTooLarge),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 524289\r\n\r\n", .bodyTooLarge),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;a\u{0}\r\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\n", .invalidChunk),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n80001\r\n", .bodyTooLarge),
        ("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n", .bodyTooLarge),
    ])
    func invalidRequest_throwsKind(text: String, kind: HTTPParseError.Kind) {
        #expect(parseError(text)?.kind == kind)
    }

    @Test func errorKinds_mapToStatusCodes() {
        #expect(HTTPParseError(.invalidTarget).status == 400)
        #expect(HTTPParseError(.bodyTooLarge).status == 413)
        #expect(HTTPParseError(.headersTooLarge).status == 431)
        #expect(HTTPParseError(.tooManyHeaders).status == 431)
        #expect(HTTPParseError(.unsupportedTransferEncoding).status == 501)
        #expect(HTTPParseError(.unsupportedVersion).status == 505)
        #expect(HTTPParseError(.unsupportedVersion).description == "505 HTTP version not supported")
    }

    @Test func headerBlockLimit_enforcedWhetherOrNotHeadIsComplete() {
        let limits = HTTPLimits(maxHeaderBytes: 64)
        let long = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 60)
        #expect(parseError(long, limits: limits)?.kind == .headersTooLarge)
        #expect(parseError(long + "\r\n\r\n", limits: limits)?.kind == .headersTooLarge)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX: 1234567\r\n\r\n", limits: limits) == nil)
    }

    @Test func headerCountLimit_enforced() {
        let limits = HTTPLimits(maxHeaderCount: 3)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits) == nil)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)?.kind == .tooManyHeaders)
    }

    @Test func bodyLimit_appliesToContentLengthAndChunkedTotal() {
        let limits = HTTPLimits(maxBodyBytes: 8)
        #expect(parseError("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n12345678", limits: limits) == nil)
        #expect(parseError("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n", limits: limits)?.kind == .bodyTooLarge)
        let chunked = "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n"
        #expect(parseError(chunked + "3\r\n678\r\n0\r\n\r\n", limits: limits) == nil)
        #expect(parseError(chunked + "4\r\n", limits: limits)?.kind == .bodyTooLarge)
    }

    @Test func chunkLineAndTrailerLimits_enforced() {
        let limits = HTTPLimits(maxHeaderBytes: 200, maxChunkLineBytes: 16)
        let start = "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(parseError(start + "1;" + String(repeating: "e", count: 20), limits: limits)?.kind == .invalidChunk)
        #expect(parseError(start + "1;" + String(repeating: "e", count: 20) + "\r\n", limits: limits)?.kind == .invalidChunk)
        let trailers = String(repeating: "T: 0123456789\r\n", count: 20)
        #expect(parseError(start + "0\r\n" + trailers, limits: limits)?.kind == .headersTooLarge)
    }

    @Test func afterError_parserStaysFailed() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.invalidRequestLine)) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.invalidRequestLine)) { try parser.next() }
    }

    @Test func manyPipelinedRequests_keepBufferCompact() throws {
        var parser = HTTPRequestParser()
        let request = Array("GET /v1/agent/self HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        var parsed = 0
        for _ in 0..<5_000 {
            parser.append(request + request + Array(request.prefix(10)))
            while try parser.next() != nil { parsed += 1 }
            parser.append(Array(request.dropFirst(10)))
            while try parser.next() != nil { parsed += 1 }
            #expect(parser.bufferedByteCount == 0)
        }
        #expect(parsed == 15_000)
    }

    @Test func expectContinue_reportedOnceWhileBodyIsMissing() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /v1/kv/k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        let beforeHead = parser.takeExpectContinue()
        #expect(try parser.next() == nil)
        let waitingForBody = parser.takeExpectContinue()
        let askedAgain = parser.takeExpectContinue()
        parser.append(Array("abc".utf8))
        #expect(try parser.next()?.body == Array("abc".utf8))
        let afterBody = parser.takeExpectContinue()
        #expect([beforeHead, waitingForBody, askedAgain, afterBody] == [false, true, false, false])
        #expect(String(decoding: HTTPResponse.continueHead, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        // Without a body to wait for there is nothing to continue.
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n".utf8))
        #expect(try parser.next() != nil)
        let withoutBody = parser.takeExpectContinue()
        #expect(!withoutBody)
    }

    @Test func requestInit_derivesPathAndQueryFromTarget() {
        let request = HTTPRequest(method: "GET", target: "/v1/catalog/service/web?dc=dc2&near=_agent")
        #expect(request.path == "/v1/catalog/service/web")
        #expect(request.pathSegments == ["v1", "catalog", "service", "web"])
        #expect(request.query["dc"] == "dc2")
        let lenient = HTTPRequest(method: "GET", target: "/bad%zz/x?a=1")
        #expect(lenient.path == "/bad%zz/x")
        #expect(lenient.query["a"] == "1")
    }
}
