import Sockets

/// The server RPC protocol (port 8300): length-prefixed frames over TCP,
/// each a request or an answer tagged with the request's ID, so one
/// connection carries many requests at once. Our own format, versioned by
/// its first byte like the gossip wire format. Decoding is total.
///
///     frame    = u32 length, then `length` bytes of:
///     u8 version (1), u8 kind, u64 id, body
public enum RPC {
    public static let version: UInt8 = 1
    /// Frames larger than this end the connection (a whole datacenter's
    /// catalog read stays well under it).
    public static let frameLimit = 32 << 20

    /// What a request asks of the datacenter it names.
    public enum Request: Equatable, Sendable {
        /// An HTTP API read, answered by that datacenter's HTTP API.
        case http(method: String, target: String, body: [UInt8])
        /// A DNS query, answered by that datacenter's DNS responder.
        case dns(packet: [UInt8], tcp: Bool)
        /// The datacenters known to the WAN pool, nearest first.
        case datacenters
        /// Open a TCP tunnel to a healthy instance of `service` in that
        /// datacenter; after `.tunnelOpen` the connection carries raw bytes.
        case tunnel(service: String)
    }

    public struct HTTPAnswer: Equatable, Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public static func == (a: HTTPAnswer, b: HTTPAnswer) -> Bool {
            a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers) { $0 == $1 }
        }
    }

    public enum Answer: Equatable, Sendable {
        case http(HTTPAnswer)
        case dns([UInt8])
        case datacenters([String])
        /// The tunnel reaches an instance: raw bytes follow, both ways.
        case tunnelOpen
        case failure(Failure)
    }

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Code: UInt8, Sendable {
            /// No live server of that datacenter is known: Consul's "No path to datacenter".
            case noPath = 1
            /// This datacenter has no live server to forward through.
            case noServers = 2
            case timeout = 3
            /// Too many requests in flight on the connection.
            case overloaded = 4
            case connectionLost = 5
            case badRequest = 6
            /// A tunnel to a service this datacenter does not have (or has
            /// no healthy instance of): never an open proxy.
            case refused = 7
            /// A request the server port never answers (`RPCAllowList`).
            case forbidden = 8
        }

        public let code: Code
        public let message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }

        public var description: String { message }
        public static let noPath = Failure(.noPath, "No path to datacenter")
    }

    /// A request as it travels: the datacenter it is for, and how many
    /// agents have forwarded it (a client to a server, a server to the
    /// target datacenter: never more than 2).
    public struct Envelope: Equatable, Sendable {
        public var datacenter: String
        public var hops: UInt8
        public var request: Request

        public init(datacenter: String, hops: UInt8, request: Request) {
            self.datacenter = datacenter
            self.hops = hops
            self.request = request
        }
    }

    public enum Frame: Equatable, Sendable {
        case request(id: UInt64, Envelope)
        case answer(id: UInt64, Answer)
    }

    private enum Kind: UInt8 {
        case httpRequest = 1, dnsRequest, datacentersRequest, tunnelRequest
        case httpAnswer = 16, dnsAnswer, datacentersAnswer, failure, tunnelOpen
    }

    /// The frame with its 4-byte length in front.
    public static func encode(_ frame: Frame) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.u32(0)
        w.u8(version)
        switch frame {
        case .request(let id, let envelope):
            switch envelope.request {
            case .http(let method, let target, let body):
                w.u8(Kind.httpRequest.rawValue)
                w.u64(id)
                header(envelope, &w)
                w.string16(method)
                w.string16(target)
                w.blob32(body)
            case .dns(let packet, let tcp):
                w.u8(Kind.dnsRequest.rawValue)
                w.u64(id)
                header(envelope, &w)
                w.u8(tcp ? 1 : 0)
                w.blob16(packet)
            case .datacenters:
                w.u8(Kind.datacentersRequest.rawValue)
                w.u64(id)
                header(envelope, &w)
            case .tunnel(let service):
                w.u8(Kind.tunnelRequest.rawValue)
                w.u64(id)
                header(envelope, &w)
                w.string16(service)
            }
        case .answer(let id, let answer):
            switch answer {
            case .http(let http):
                w.u8(Kind.httpAnswer.rawValue)
                w.u64(id)
                w.u16(UInt16(clamping: http.status))
                w.u16(UInt16(clamping: http.headers.count))
                for (name, value) in http.headers.prefix(Int(UInt16.max)) {
                    w.string16(name)
                    w.string16(value)
                }
                w.blob32(http.body)
            case .dns(let packet):
                w.u8(Kind.dnsAnswer.rawValue)
                w.u64(id)
                w.blob16(packet)
            case .datacenters(let names):
                w.u8(Kind.datacentersAnswer.rawValue)
                w.u64(id)
                w.u16(UInt16(clamping: names.count))
                for name in names.prefix(Int(UInt16.max)) { w.string16(name) }
            case .tunnelOpen:
                w.u8(Kind.tunnelOpen.rawValue)
                w.u64(id)
            case .failure(let failure):
                w.u8(Kind.failure.rawValue)
                w.u64(id)
                w.u8(failure.code.rawValue)
                w.string16(failure.message)
            }
        }
        var bytes = w.bytes
        let length = UInt32(bytes.count - 4)
        bytes[0] = UInt8(length >> 24)
        bytes[1] = UInt8(length >> 16 & 0xff)
        bytes[2] = UInt8(length >> 8 & 0xff)
        bytes[3] = UInt8(length & 0xff)
        return bytes
    }

    private static func header(_ envelope: Envelope, _ w: inout ByteWriter) {
        w.string16(envelope.datacenter)
        w.u8(envelope.hops)
    }

    /// Decodes one frame body (without its length prefix); bytes left
    /// over after the frame make it malformed.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Frame {
        var r = ByteReader(bytes)
        let frame = try decodeFrame(&r)
        guard r.isAtEnd else { throw DecodeError.invalid("trailing bytes after the RPC frame") }
        return frame
    }

    private static func decodeFrame(_ r: inout ByteReader) throws(DecodeError) -> Frame {
        guard try r.u8() == version else { throw DecodeError.invalid("unknown RPC version") }
        guard let kind = Kind(rawValue: try r.u8()) else { throw DecodeError.invalid("unknown RPC frame kind") }
        let id = try r.u64()
        switch kind {
        case .httpRequest, .dnsRequest, .datacentersRequest, .tunnelRequest:
            let datacenter = try r.string16()
            let hops = try r.u8()
            let request: Request
            switch kind {
            case .httpRequest:
                let method = try r.string16()
                let target = try r.string16()
                request = .http(method: method, target: target, body: try r.blob32())
            case .dnsRequest:
                let tcp = try r.u8() != 0
                request = .dns(packet: try r.blob16(), tcp: tcp)
            case .tunnelRequest:
                request = .tunnel(service: try r.string16())
            default:
                request = .datacenters
            }
            return .request(id: id, Envelope(datacenter: datacenter, hops: hops, request: request))
        case .httpAnswer:
            let status = Int(try r.u16())
            var headers: [(String, String)] = []
            for _ in 0..<Int(try r.u16()) {
                let name = try r.string16()
                headers.append((name, try r.string16()))
            }
            return .answer(id: id, .http(HTTPAnswer(status: status, headers: headers, body: try r.blob32())))
        case .dnsAnswer:
            return .answer(id: id, .dns(try r.blob16()))
        case .datacentersAnswer:
            var names: [String] = []
            for _ in 0..<Int(try r.u16()) { names.append(try r.string16()) }
            return .answer(id: id, .datacenters(names))
        case .tunnelOpen:
            return .answer(id: id, .tunnelOpen)
        case .failure:
            guard let code = Failure.Code(rawValue: try r.u8()) else { throw DecodeError.invalid("unknown RPC failure code") }
            return .answer(id: id, .failure(Failure(code, try r.string16())))
        }
    }
}
