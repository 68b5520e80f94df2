/// RFC 4648 base64 with the standard alphabet and padding, the form of
/// Consul's gossip keys. Decoding is strict: any other character, a
/// missing or misplaced `=`, or non-zero unused bits give nil.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            let pad = chars[i + 3] == UInt8(ascii: "=") ? (chars[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0
            guard pad == 0 || last else { return nil }
            var v = [Int](repeating: 0, count: 4)
            for j in 0..<(4 - pad) {
                let d = values[Int(chars[i + j])]
                guard d >= 0 else { return nil }
                v[j] = Int(d)
            }
            if pad == 1, v[2] & 3 != 0 { return nil }
            if pad == 2, v[1] & 15 != 0 { return nil }
            out.append(UInt8(v[0] << 2 | v[1] >> 4))
            if pad < 2 { out.append(UInt8((v[1] & 15) << 4 | v[2] >> 2)) }
            if pad < 1 { out.append(UInt8((v[2] & 3) << 6 | v[3])) }
            i += 4
        }
        return out
    }
}
