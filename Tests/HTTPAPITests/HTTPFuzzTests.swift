import HTTPAPI
import TestSupport
import Testing


@Suite struct HTTPFuzzTests {
    /// Small limits so the limit paths are hit often.
    static let limits = HTTPLimits(maxHeaderBytes: 300, maxHeaderCount: 8, maxBodyBytes: 64, maxChunkLineBytes: 24)

    static let requestSeeds: [[UInt8]] = [
        "GET /v1/health/service/web?passing&tag=a%20b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "PUT /v1/kv/a%2Fb HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "\r\nGET http://h:1/p?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    ].map { Array($0.utf8) }

    static let responseSeeds: [[UInt8]] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\n\r\nbody until close",
    ].map { Array($0.utf8) }

    static let alphabet: [UInt8] = Array("\r\n\r\n :;,/?%=&+#*0123456789aAfFxXHTP.GETPUchunkedContent-LengthTransfer-EncodingHost".utf8)
        + [0x00, 0x09, 0x7F, 0x80, 0xFF]

    @Test func requestParser_20000Inputs_neverCrashAndSplittingDoesNotMatter() {
        var rng = SplitMix64(seed: 0x4854_5450)
        var parsedRequests = 0
        var errors = 0
        for round in 0..<20_000 {
            let input = round % 5 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.alphabet, maxCount: 200)
                : Fuzzer.mutate(Self.requestSeeds[round % Self.requestSeeds.count], &rng, alphabet: Self.alphabet, edits: 0...3, maxRun: 80, appendSeed: true)
            let whole = Self.parseRequests([input])
            let pieces = Self.parseRequests(Self.split(input, &rng))
            #expect(whole.requests == pieces.requests, "split changed the requests for \(input)")
            #expect(whole.failed == pieces.failed, "split changed failure for \(input)")
            parsedRequests += whole.requests.count
            if whole.failed { errors += 1 }
        }
        #expect(parsedRequests > 1_000)
        #expect(errors > 1_000)
    }

    @Test func responseParser_20000Inputs_neverCrash() {
        var rng = SplitMix64(seed: 0x5245_5350)
        var completed = 0
        for round in 0..<20_000 {
            let input = round % 5 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.alphabet, maxCount: 200)
                : Fuzzer.mutate(Self.responseSeeds[round % Self.responseSeeds.count], &rng, alphabet: Self.alphabet, edits: 0...3, maxRun: 80, appendSeed: true)
            var parser = HTTPResponseParser(limits: Self.limits)
            do {
                var response: HTTPResponse?
                for piece in Self.split(input, &rng) {
                    parser.append(piece)
                    if let next = try parser.next() { response = next }
                }
                if response == nil { response = try parser.finish() }
                if let response {
                    completed += 1
                    #expect(response.body.count <= Self.limits.maxBodyBytes)
                }
            } catch {
                #expect((400...505).contains(error.status))
            }
        }
        #expect(completed > 1_000)
    }

    /// Summary of everything parsed from the pieces, for comparison.
    private static func parseRequests(_ pieces: [[UInt8]]) -> (requests: [String], failed: Bool) {
        var parser = HTTPRequestParser(limits: limits)
        var requests: [String] = []
        do {
            for piece in pieces {
                parser.append(piece)
                while let request = try parser.next() {
                    #expect(request.body.count <= limits.maxBodyBytes)
                    #expect(request.headers.count <= limits.maxHeaderCount)
                    let headers = request.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
                    requests.append("\(request.method) \(request.target) \(request.version) \(headers) \(request.body) \(request.keepAlive)")
                }
            }
            return (requests, false)
        } catch {
            #expect([400, 413, 431, 501, 505].contains(error.status))
            return (requests, true)
        }
    }

    private static func split(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...max(1, min(rest.count, 12)), using: &rng)
            pieces.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return pieces
    }


}
