// The HTTP targets' common part (compiled into every target, as
// Support.swift is): parse a byte stream whole and in pieces, and check
// that both give the same requests (or responses) and the same error.
import Agent
import HTTPAPI

/// Small limits, so that inputs of a few KB reach every limit's path.
let fuzzHTTPLimits = HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 512, maxChunkLineBytes: 48)

/// Everything a request parser made of `pieces`, as text, and its error.
func fuzzParseRequests(_ pieces: [[UInt8]]) -> (requests: [String], error: String?) {
    var parser = HTTPRequestParser(limits: fuzzHTTPLimits)
    var requests: [String] = []
    do {
        for piece in pieces {
            parser.append(piece)
            while let request = try parser.next() {
                fuzzRequire(request.body.count <= fuzzHTTPLimits.maxBodyBytes, "a body over the limit")
                fuzzRequire(request.headers.count <= fuzzHTTPLimits.maxHeaderCount, "more headers than the limit")
                // What the API reads off every request: the query, a blocking query's wait.
                _ = request.query["wait"].flatMap(GoDuration.parse)
                _ = percentDecode(request.rawQuery, plusAsSpace: true)
                let headers = request.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
                let query = request.query.items.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
                requests.append("\(request.method) \(request.target) \(request.path) \(request.pathSegments) \(query) "
                                + "\(request.version) \(headers) \(request.body) \(request.keepAlive)")
            }
        }
        return (requests, nil)
    } catch {
        fuzzRequire([400, 413, 431, 501, 505].contains(error.status), "a request refused with status \(error.status)")
        return (requests, "\(error)")
    }
}

/// Everything a response parser made of `pieces` (then EOF), and its error.
func fuzzParseResponses(_ pieces: [[UInt8]], method: String) -> (responses: [String], error: String?) {
    var parser = HTTPResponseParser(requestMethod: method, limits: fuzzHTTPLimits)
    var responses: [String] = []
    func add(_ response: HTTPResponse) {
        fuzzRequire(response.body.count <= fuzzHTTPLimits.maxBodyBytes, "a response body over the limit")
        let headers = response.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
        responses.append("\(response.status) \(response.reason ?? "-") \(headers) \(response.body)")
    }
    do {
        for piece in pieces {
            parser.append(piece)
            while let response = try parser.next() { add(response) }
        }
        if let response = try parser.finish() { add(response) }
        return (responses, nil)
    } catch {
        return (responses, "\(error)")
    }
}

func fuzzCheckRequests(_ bytes: [UInt8]) {
    let whole = fuzzParseRequests([bytes])
    let split = fuzzParseRequests(fuzzPieces(bytes))
    fuzzRequire(whole.requests == split.requests && whole.error == split.error,
                "the split changed the requests: \(whole) vs \(split)")
}

func fuzzCheckResponses(_ bytes: [UInt8], method: String = "GET") {
    let whole = fuzzParseResponses([bytes], method: method)
    let split = fuzzParseResponses(fuzzPieces(bytes), method: method)
    fuzzRequire(whole.responses == split.responses && whole.error == split.error,
                "the split changed the responses: \(whole) vs \(split)")
}
