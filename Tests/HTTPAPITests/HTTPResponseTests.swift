import HTTPAPI
import Testing

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct HTTPResponseTests {
    @Test func serialize_keepAlive_writesStatusTypeHeadersLengthAndBody() {
        let response = HTTPResponse(status: 200, contentType: "application/json",
                                    headers: ["X-Consul-Index": "42", "Content-Length": "999", "Connection": "keep-alive"],
                                    body: Array("{}".utf8))
        var output: [UInt8] = Array("prefix".utf8)
        response.serialize(into: &output, keepAlive: true)
        #expect(text(output) == "prefixHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 42\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func serialize_close_addsConnectionClose() {
        let response = HTTPResponse(status: 404, body: Array("nope".utf8))
        #expect(text(response.serialized(keepAlive: false)) == "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
    }

    @Test func serialize_noBodyStatusesAndHEAD() {
        #expect(text(HTTPResponse(status: 204, body: [1]).serialized()) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(text(HTTPResponse(status: 304).serialized()) == "HTTP/1.1 304 Not Modified\r\n\r\n")
        var head: [UInt8] = []
        HTTPResponse(status: 200, body: Array("abc".utf8)).serialize(into: &head, keepAlive: true, isResponseToHEAD: true)
        #expect(text(head) == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
    }

    @Test func serialize_customReasonAndUnknownStatusAndInjectedNewlines() {
        #expect(text(HTTPResponse(status: 599).serialized()) == "HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\n\r\n")
        #expect(text(HTTPResponse(status: 200, reason: "Fine").serialized()).hasPrefix("HTTP/1.1 200 Fine\r\n"))
        let injected = HTTPResponse(status: 200, headers: ["X-Name": "a\r\nSet-Cookie: x"])
        #expect(text(injected.serialized()) == "HTTP/1.1 200 OK\r\nX-Name: a  Set-Cookie: x\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func reasonPhrases_coverErrorStatuses() {
        #expect(HTTPResponse.reasonPhrase(for: 413) == "Content Too Large")
        #expect(HTTPResponse.reasonPhrase(for: 431) == "Request Header Fields Too Large")
        #expect(HTTPResponse.reasonPhrase(for: 501) == "Not Implemented")
        #expect(HTTPResponse.reasonPhrase(for: 505) == "HTTP Version Not Supported")
    }

    @Test func serializedResponse_parsesBack() throws {
        let original = HTTPResponse(status: 500, contentType: "text/plain", headers: ["X-A": "1"], body: Array("boom".utf8))
        var parser = HTTPResponseParser()
        parser.append(original.serialized(keepAlive: false))
        let parsed = try #require(try parser.next())
        #expect(parsed.status == 500)
        #expect(parsed.reason == "Internal Server Error")
        #expect(parsed.headers["content-type"] == "text/plain")
        #expect(parsed.headers["Connection"] == "close")
        #expect(parsed.body == Array("boom".utf8))
    }
}

@Suite struct HTTPResponseParserTests {
    private func parse(_ text: String, method: String = "GET", limits: HTTPLimits = .client) throws(HTTPParseError) -> HTTPResponse? {
        var parser = HTTPResponseParser(requestMethod: method, limits: limits)
        parser.append(Array(text.utf8))
        if let response = try parser.next() { return response }
        return try parser.finish()
    }

    @Test func contentLength_chunked_and_closeDelimitedBodies() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA")?.body == Array("abc".utf8))
        #expect(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n")?.body == Array("abc".utf8))
        #expect(try parse("HTTP/1.0 200 OK\r\n\r\nuntil close")?.body == Array("until close".utf8))
    }

    @Test func closeDelimitedBody_completesOnlyAtFinish() throws {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 200 OK\r\n\r\npart1".utf8))
        #expect(try parser.next() == nil)
        parser.append(Array(" part2".utf8))
        #expect(try parser.next() == nil)
        #expect(try parser.finish()?.body == Array("part1 part2".utf8))
        #expect(try parser.finish() == nil)
    }

    @Test func headAnd204And304_haveNoBody() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method: "HEAD")?.body == [])
        #expect(try parse("HTTP/1.1 204 No Content\r\n\r\n")?.status == 204)
        #expect(try parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")?.body == [])
    }

    @Test func interim100_isSkipped() throws {
        let response = try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx")
        #expect(response?.status == 201)
        #expect(response?.reason == "Created")
    }

    @Test func statusLineWithoutReason_isAccepted() throws {
        #expect(try parse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")?.reason == "")
        #expect(try parse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n")?.status == 404)
    }

    @Test(arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", HTTPParseError.Kind.invalidStatusLine),
        ("HTTP/1.1 2000 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 abc OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 099 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1  200 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 200 O\u{1}K\r\n\r\n", .invalidStatusLine),
        ("HTTX/1.1 200 OK\r\n\r\n", .invalidVersion),
        ("HTTP/3.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", .bareLineFeed),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", .truncatedMessage),
        ("HTTP/1.1 200 OK\r\nContent-Le", .truncatedMessage),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", .truncatedMessage),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n", .unsupportedTransferEncoding),
    ])
    func invalidResponse_throwsKind(text: String, kind: HTTPParseError.Kind) {
        do {
            _ = try parse(text)
            Issue.record("expected \(kind)")
        } catch {
            #expect(error.kind == kind)
        }
    }

    @Test func closeDelimitedBody_isLimited() {
        var parser = HTTPResponseParser(limits: HTTPLimits(maxBodyBytes: 4))
        parser.append(Array("HTTP/1.1 200 OK\r\n\r\n12345".utf8))
        #expect(throws: HTTPParseError(.bodyTooLarge)) { try parser.next() }
    }
}
