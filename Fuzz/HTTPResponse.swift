// HTTP/1.x responses as the HTTP client reads them (HTTP checks against
// any workload, federation, the CLI): status lines, interim 1xx, bodies by
// length, chunked or until close, and HEAD's bodiless answers.
func fuzz(_ bytes: [UInt8]) {
    fuzzCheckResponses(bytes)
    fuzzCheckResponses(bytes, method: "HEAD")
}

func fuzzSeeds() -> [[UInt8]] {
    [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\n[1]",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\n\r\nbody until close",
        "HTTP/1.1 204 No Content\r\nX-Consul-Index: 7\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    ].map(\.fuzzBytes)
}
