/// Collects one length-prefixed frame (4-byte big-endian length) from a
/// TCP stream, refusing frames above `limit` before buffering them.
struct FrameReader {
    let limit: Int
    private var buffer: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    enum Outcome {
        case needMore
        case frame([UInt8])
        case tooLarge(Int)
    }

    /// The length the frame's header announces, once it has arrived.
    var declaredLength: Int? {
        buffer.count >= 4 ? Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3]) : nil
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let hadHeader = buffer.count >= 4
        buffer.append(contentsOf: bytes)
        guard let length = declaredLength else { return .needMore }
        guard length <= limit else { return .tooLarge(length) }
        // One allocation for the whole frame, not doublings to twice its size.
        if !hadHeader { buffer.reserveCapacity(4 + length) }
        guard buffer.count >= 4 + length else { return .needMore }
        return .frame(Array(buffer[4..<4 + length]))
    }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload
    }
}
