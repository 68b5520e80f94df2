// The integration tests' HTTP calls: a thin layer over the CLI's blocking
// client (HTTPAPI.HTTPClient), with the shapes the tests read.

import HTTPAPI

struct HTTPResponse: CustomStringConvertible {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.last(where: { $0.0.lowercased() == name.lowercased() })?.1
    }

    var description: String { "HTTP \(status): \(text.prefix(2000))" }
}

struct HTTPClientError: Error, CustomStringConvertible {
    let description: String
}

enum HTTPClient {
    static func get(_ host: String, _ port: UInt16, _ path: String, timeout: Double = 5) throws(HTTPClientError) -> HTTPResponse {
        try request("GET", host, port, path, timeout: timeout)
    }

    static func put(_ host: String, _ port: UInt16, _ path: String, body: [UInt8] = [], timeout: Double = 5) throws(HTTPClientError) -> HTTPResponse {
        try request("PUT", host, port, path, body: body, timeout: timeout)
    }

    static func request(_ method: String, _ host: String, _ port: UInt16, _ path: String,
                        body: [UInt8] = [], timeout: Double = 5) throws(HTTPClientError) -> HTTPResponse {
        do {
            let r = try HTTPAPI.HTTPClient.send(method: method, host: host, port: port, path: path,
                                                body: body.isEmpty ? nil : body,
                                                timeoutSeconds: max(1, Int(timeout.rounded(.up))))
            return HTTPResponse(status: r.status, headers: r.headers.fields.map { ($0.name, $0.value) }, body: r.body)
        } catch {
            throw HTTPClientError(description: "\(method) http://\(host):\(port)\(path): \(error)")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
