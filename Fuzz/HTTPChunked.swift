// Chunked bodies (ChunkedBodyDecoder: chunk sizes, extensions, trailers,
// the body limit), the input being everything after the head, in a
// request to the API server and in a response to the HTTP client (checks,
// federation): the same body or the same error whatever the split.
func fuzz(_ bytes: [UInt8]) {
    fuzzCheckRequests(requestHead + bytes)
    fuzzCheckResponses(responseHead + bytes)
}

let requestHead = "PUT /v1/kv/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".fuzzBytes
let responseHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".fuzzBytes

func fuzzSeeds() -> [[UInt8]] {
    [
        "5\r\nhello\r\n0\r\n\r\n",
        "3;name=value;x\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: yes\r\nX: y\r\n\r\n",
        "00000001\r\nz\r\n0;last\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "1f4\r\n" + String(repeating: "x", count: 500) + "\r\n0\r\n\r\n",
    ].map(\.fuzzBytes)
}
