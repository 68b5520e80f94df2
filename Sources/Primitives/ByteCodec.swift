
/// Appends big-endian fields to a byte buffer (the wire formats' writer).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xff)) }
    }
    /// A name: one length byte, at most 255 bytes of UTF-8 (longer is cut by the caller's validation).
    public mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v >> 32))
        u32(UInt32(truncatingIfNeeded: v))
    }
    /// A string of up to 65,535 UTF-8 bytes (longer is cut; callers bound their inputs).
    /// Inputs are bounded before they get here (`Catalog.Limits`); should a
    /// longer string still come, it is cut at a character boundary, so
    /// what is written always decodes as UTF-8.
    public mutating func string16(_ s: String) {
        let utf8 = Array(s.utf8)
        var n = min(utf8.count, Int(UInt16.max))
        while n < utf8.count && n > 0 && utf8[n] & 0xC0 == 0x80 { n -= 1 }
        blob16(Array(utf8[0..<n]))
    }
    public mutating func blob32(_ b: [UInt8]) {
        u32(UInt32(min(b.count, Int(UInt32.max))))
        bytes.append(contentsOf: b)
    }
    public mutating func shortString(_ s: String) {
        let utf8 = Array(s.utf8.prefix(255))
        u8(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    public mutating func blob16(_ b: [UInt8]) {
        let n = min(b.count, Int(UInt16.max))
        u16(UInt16(n))
        bytes.append(contentsOf: b.prefix(n))
    }
    public mutating func endpoint(_ e: Endpoint) {
        u8(UInt8(e.addressBytes.count))
        bytes.append(contentsOf: e.addressBytes)
        u16(e.port)
    }
}

public enum DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
    case truncated
    case invalid(String)

    public var description: String {
        switch self {
        case .truncated: "truncated message"
        case .invalid(let why): why
        }
    }
}

/// Reads big-endian fields; every read is bounds-checked so decoding any
/// byte string ends in a value or an error, never a trap.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], from offset: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    public mutating func u8() throws(DecodeError) -> UInt8 {
        guard offset < end else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func u16() throws(DecodeError) -> UInt16 {
        let hi = try u8(), lo = try u8()
        return UInt16(hi) << 8 | UInt16(lo)
    }
    public mutating func u32() throws(DecodeError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 { v = v << 8 | UInt32(try u8()) }
        return v
    }
    public mutating func take(_ n: Int) throws(DecodeError) -> [UInt8] {
        guard n >= 0, n <= remaining else { throw .truncated }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    /// Moves past `n` bytes without copying them.
    public mutating func skip(_ n: Int) throws(DecodeError) {
        guard n >= 0, n <= remaining else { throw .truncated }
        offset += n
    }
    /// Moves past a `string16` without copying or validating it.
    public mutating func skipString16() throws(DecodeError) {
        try skip(Int(try u16()))
    }
    public mutating func u64() throws(DecodeError) -> UInt64 {
        let hi = UInt64(try u32()), lo = UInt64(try u32())
        return hi << 32 | lo
    }
    public mutating func string16() throws(DecodeError) -> String {
        let raw = try blob16()
        guard let s = String(validating: raw, as: UTF8.self) else { throw .invalid("string is not UTF-8") }
        return s
    }
    public mutating func blob32() throws(DecodeError) -> [UInt8] {
        try take(Int(try u32()))
    }
    public mutating func shortString() throws(DecodeError) -> String {
        let n = Int(try u8())
        let raw = try take(n)
        guard let s = String(validating: raw, as: UTF8.self) else { throw .invalid("name is not UTF-8") }
        return s
    }
    public mutating func blob16() throws(DecodeError) -> [UInt8] {
        try take(Int(try u16()))
    }
    public mutating func endpoint() throws(DecodeError) -> Endpoint {
        let n = Int(try u8())
        guard n == 4 || n == 16 else { throw .invalid("bad address length \(n)") }
        let raw = try take(n)
        let port = try u16()
        guard let e = Endpoint(addressBytes: raw, port: port) else { throw .invalid("bad address") }
        return e
    }
}
