// A minimal HTTP/1.1 client for the integration tests: one request per
// connection (`Connection: close`), raw Glibc sockets, a deadline on the
// whole exchange. It handles Content-Length, chunked and read-to-EOF bodies.

import Glibc

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

    static func request(
        _ method: String, _ host: String, _ port: UInt16, _ path: String,
        body: [UInt8] = [], timeout: Double = 5
    ) throws(HTTPClientError) -> HTTPResponse {
        let deadline = Clock.now + timeout
        let fd = try connect(host, port, deadline: deadline)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        head += "User-Agent: fedagent-integration-tests\r\nAccept: */*\r\nConnection: close\r\n"
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(fd, Array(head.utf8) + body, deadline: deadline)
        return try receive(fd, deadline: deadline, what: "\(method) http://\(host):\(port)\(path)")
    }

    // MARK: - Socket steps

    private static func connect(_ host: String, _ port: UInt16, deadline: Double) throws(HTTPClientError) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw HTTPClientError(description: "not an IPv4 address: \(host)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError(description: "socket: \(errnoText())") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            guard errno == EINPROGRESS else {
                let text = errnoText()
                close(fd)
                throw HTTPClientError(description: "connect \(host):\(port): \(text)")
            }
            guard waitFor(fd, events: Int16(POLLOUT), deadline: deadline) else {
                close(fd)
                throw HTTPClientError(description: "connect \(host):\(port): timed out")
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                throw HTTPClientError(description: "connect \(host):\(port): \(String(cString: strerror(error)))")
            }
        }
        return fd
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], deadline: Double) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                guard waitFor(fd, events: Int16(POLLOUT), deadline: deadline) else {
                    throw HTTPClientError(description: "send: timed out")
                }
            } else {
                throw HTTPClientError(description: "send: \(errnoText())")
            }
        }
    }

    private static func receive(_ fd: Int32, deadline: Double, what: String) throws(HTTPClientError) -> HTTPResponse {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            if let response = try parse(data, complete: false) { return response }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                guard let response = try parse(data, complete: true) else {
                    throw HTTPClientError(description: "\(what): connection closed after \(data.count) bytes")
                }
                return response
            } else if errno == EAGAIN || errno == EINTR {
                guard waitFor(fd, events: Int16(POLLIN), deadline: deadline) else {
                    throw HTTPClientError(description: "\(what): timed out after \(data.count) bytes")
                }
            } else {
                throw HTTPClientError(description: "\(what): recv: \(errnoText())")
            }
        }
    }

    private static func waitFor(_ fd: Int32, events: Int16, deadline: Double) -> Bool {
        while true {
            let remaining = deadline - Clock.now
            if remaining <= 0 { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if result > 0 { return true }
            if result < 0 && errno != EINTR { return true }  // let the next call report it
        }
    }

    // MARK: - Parsing

    /// The response if `data` holds a whole one; nil if more is needed.
    /// With `complete` (EOF seen), a body without a length ends here.
    static func parse(_ data: [UInt8], complete: Bool) throws(HTTPClientError) -> HTTPResponse? {
        guard let headEnd = find([13, 10, 13, 10], in: data, from: 0) else {
            if complete { throw HTTPClientError(description: "truncated response head: \(data.count) bytes") }
            return nil
        }
        let head = String(decoding: data[0..<headEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = (lines.first ?? "").split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw HTTPClientError(description: "bad status line: \(lines.first ?? "")")
        }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingSpaces
            headers.append((name, value))
        }
        let response = HTTPResponse(status: status, headers: headers, body: [])
        let rest = Array(data[(headEnd + 4)...])
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            guard let body = try dechunk(rest) else {
                if complete { throw HTTPClientError(description: "truncated chunked body") }
                return nil
            }
            return HTTPResponse(status: status, headers: headers, body: body)
        }
        if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0 else {
                throw HTTPClientError(description: "bad Content-Length: \(lengthText)")
            }
            if rest.count >= length { return HTTPResponse(status: status, headers: headers, body: Array(rest[0..<length])) }
            if complete { throw HTTPClientError(description: "body truncated: \(rest.count) of \(length) bytes") }
            return nil
        }
        if status == 204 || status == 304 || (100..<200).contains(status) {
            return response
        }
        return complete ? HTTPResponse(status: status, headers: headers, body: rest) : nil
    }

    /// The decoded body, or nil if the last chunk has not arrived yet.
    private static func dechunk(_ data: [UInt8]) throws(HTTPClientError) -> [UInt8]? {
        var body: [UInt8] = []
        var offset = 0
        while true {
            guard let lineEnd = find([13, 10], in: data, from: offset) else { return nil }
            let sizeText = String(decoding: data[offset..<lineEnd], as: UTF8.self)
            let sizeField = sizeText.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeField.trimmingSpaces, radix: 16), size >= 0 else {
                throw HTTPClientError(description: "bad chunk size: \(sizeText)")
            }
            offset = lineEnd + 2
            if size == 0 { return body }  // trailers are ignored
            guard data.count >= offset + size + 2 else { return nil }
            body.append(contentsOf: data[offset..<(offset + size)])
            offset += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
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
