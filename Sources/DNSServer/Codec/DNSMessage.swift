/// DNS messages (RFC 1035) as fedagent reads and writes them: the header,
/// questions, the record types Consul's DNS interface answers with, and
/// EDNS0 (RFC 6891). Decoding is total (`DNSMessage.decode` throws on any
/// malformed input, never traps); encoding compresses names (RFC 1035 §4.1.4)
/// except where RFC 2782 forbids it (SRV targets).
public struct DNSMessage: Sendable, Equatable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authority: [DNSRecord]
    public var additional: [DNSRecord]
    /// The OPT pseudo-record, kept apart from `additional`.
    public var edns: EDNS?

    public init(header: DNSHeader = DNSHeader(), questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authority: [DNSRecord] = [], additional: [DNSRecord] = [], edns: EDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }
}

/// The 12-byte header; section counts are derived from the message.
public struct DNSHeader: Sendable, Equatable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    /// The Z bit and the DNSSEC AD/CD bits, carried through as they came.
    public var authenticData = false
    public var checkingDisabled = false
    /// The full response code: the low 4 bits travel in the header, the
    /// high 8 in the OPT record (RFC 6891 §6.1.3).
    public var rcode: DNSRcode = .noError

    public init(id: UInt16 = 0) { self.id = id }
}

public struct DNSRcode: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSRcode(rawValue: 0)
    public static let formErr = DNSRcode(rawValue: 1)
    public static let servFail = DNSRcode(rawValue: 2)
    public static let nxDomain = DNSRcode(rawValue: 3)
    public static let notImp = DNSRcode(rawValue: 4)
    public static let refused = DNSRcode(rawValue: 5)
    /// BADVERS (RFC 6891): an EDNS version we do not speak.
    public static let badVers = DNSRcode(rawValue: 16)
}

public struct DNSType: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)
    public static let srv = DNSType(rawValue: 33)
    public static let opt = DNSType(rawValue: 41)
    public static let axfr = DNSType(rawValue: 252)
    public static let any = DNSType(rawValue: 255)
}

public struct DNSClass: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let internet = DNSClass(rawValue: 1)
    public static let any = DNSClass(rawValue: 255)
}

public struct DNSQuestion: Sendable, Equatable {
    public var name: DNSName
    public var type: DNSType
    public var qclass: DNSClass

    public init(name: DNSName, type: DNSType, qclass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }
}

public struct DNSRecord: Sendable, Equatable {
    public var name: DNSName
    public var rclass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, rclass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.rclass = rclass
        self.ttl = ttl
        self.data = data
    }

    public var type: DNSType { data.type }
}

public enum DNSRecordData: Sendable, Equatable {
    /// An IPv4 address, 4 bytes in network order.
    case a(UInt32)
    /// An IPv6 address, 16 bytes.
    case aaaa([UInt8])
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case soa(DNSSOA)
    /// RFC 2782; the target is written uncompressed.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// Character strings of at most 255 bytes each.
    case txt([[UInt8]])
    /// Any other type, its RDATA as it came (names inside are not expanded).
    case other(DNSType, [UInt8])

    public var type: DNSType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .soa: .soa
        case .srv: .srv
        case .txt: .txt
        case .other(let type, _): type
        }
    }
}

public struct DNSSOA: Sendable, Equatable {
    public var mname: DNSName
    public var rname: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.mname = mname
        self.rname = rname
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// EDNS0's OPT pseudo-record (RFC 6891).
public struct EDNS: Sendable, Equatable {
    /// The largest UDP payload the sender can take (values below 512 mean 512).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    public var dnssecOK: Bool
    /// Options as (code, data), carried through unparsed.
    public var options: [(code: UInt16, data: [UInt8])]

    public init(udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, options: [(code: UInt16, data: [UInt8])] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.options = options
    }

    public static func == (a: EDNS, b: EDNS) -> Bool {
        a.udpPayloadSize == b.udpPayloadSize && a.version == b.version && a.dnssecOK == b.dnssecOK
            && a.options.elementsEqual(b.options) { $0.code == $1.code && $0.data == $1.data }
    }
}
