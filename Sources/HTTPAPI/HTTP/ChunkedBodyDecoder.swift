/// Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 7.1).
/// Chunk extensions are ignored, trailer fields skipped; the decoded body
/// is bounded by `maxBodyBytes`, each size line by `maxChunkLineBytes` and
/// the trailer block by `maxHeaderBytes`.
struct ChunkedBodyDecoder {
    private enum State {
        case sizeLine
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    private var state = State.sizeLine
    private var trailerBytes = 0
    /// Bytes of the current line already searched for its LF.
    private var lineScanned = 0

    /// Consumes what it can from `buffer`, appending chunk data to `body`.
    /// Returns true once the last chunk and trailers have been read.
    mutating func decode(_ buffer: inout InputBuffer, into body: inout [UInt8], limits: HTTPLimits) throws(HTTPParseError) -> Bool {
        while true {
            switch state {
            case .sizeLine:
                guard let line = try takeLine(&buffer, limit: limits.maxChunkLineBytes, tooLong: .invalidChunk) else { return false }
                let size = try Self.parseChunkSize(line)
                guard size <= limits.maxBodyBytes - body.count else { throw HTTPParseError(.bodyTooLarge) }
                state = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                let count = min(remaining, buffer.available)
                guard count > 0 else { return false }
                body.append(contentsOf: buffer.take(count))
                state = remaining == count ? .dataEnd : .data(remaining: remaining - count)
            case .dataEnd:
                guard buffer.available >= 2 else { return false }
                guard buffer.take(2).elementsEqual([0x0D, 0x0A]) else { throw HTTPParseError(.invalidChunk) }
                state = .sizeLine
            case .trailers:
                let remainingBudget = limits.maxHeaderBytes - trailerBytes
                guard let line = try takeLine(&buffer, limit: remainingBudget, tooLong: .headersTooLarge) else { return false }
                trailerBytes += line.count + 2
                if line.isEmpty {
                    state = .sizeLine
                    trailerBytes = 0
                    return true
                }
            }
        }
    }

    /// The next CRLF-terminated line without its CRLF, or nil if incomplete.
    /// A line longer than `limit` throws `tooLong`; a bare LF is invalid.
    private mutating func takeLine(_ buffer: inout InputBuffer, limit: Int,
                                   tooLong: HTTPParseError.Kind) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let start = buffer.readIndex
        var index = start + lineScanned
        while index < buffer.endIndex {
            if buffer[index] == 0x0A {
                guard index > start, buffer[index - 1] == 0x0D else { throw HTTPParseError(.invalidChunk) }
                guard index - start - 1 <= limit else { throw HTTPParseError(tooLong) }
                lineScanned = 0
                return buffer.take(index - start + 1).dropLast(2)
            }
            index += 1
        }
        lineScanned = index - start
        guard buffer.available <= limit + 1 else { throw HTTPParseError(tooLong) }
        return nil
    }

    /// `1a3f[;ext=val]` -> size. Sizes beyond what an Int holds count as
    /// too large a body rather than malformed.
    private static func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = hexValue(line[index]) {
            guard size <= (Int.max >> 4) else { throw HTTPParseError(.bodyTooLarge) }
            size = size << 4 | Int(digit)
            index += 1
        }
        guard index > line.startIndex else { throw HTTPParseError(.invalidChunk) }
        // Optional extensions: BWS ";" ... ; ignored but must not hide CTLs.
        var rest = line[index...]
        while let byte = rest.first, byte == 0x20 || byte == 0x09 { rest = rest.dropFirst() }
        guard rest.isEmpty || rest.first == UInt8(ascii: ";") else { throw HTTPParseError(.invalidChunk) }
        guard rest.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { throw HTTPParseError(.invalidChunk) }
        return size
    }
}
