// HTTP/1.1 requests as the API server reads them from any client
// (HTTPRequestParser: pipelined requests, Content-Length and chunked
// bodies, the request target's path and query): the same requests, or the
// same refusal, whether the bytes arrive at once or in pieces.
func fuzz(_ bytes: [UInt8]) {
    fuzzCheckRequests(bytes)
}

func fuzzSeeds() -> [[UInt8]] {
    [
        "GET /v1/health/service/web?passing&tag=a%20b&index=12&wait=5m HTTP/1.1\r\nHost: h\r\nX-Consul-Token: t\r\n\r\n",
        "PUT /v1/agent/service/register HTTP/1.1\r\nHost: h\r\nContent-Length: 27\r\nContent-Type: application/json\r\n\r\n{\"Name\":\"web\",\"Port\":8080}\n",
        "POST /v1/event/fire/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "\r\nGET http://h:1/v1/kv/a%2Fb/?recurse HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Long:  folded\r\n value\r\n\r\n",
    ].map(\.fuzzBytes)
}
