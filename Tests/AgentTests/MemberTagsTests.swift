@testable import Agent
@testable import CatalogCore
import Testing

@Suite struct MemberTagsTests {
    @Test func consulTagsRoundTripCompactly() {
        var config = AgentConfig(nodeName: "web-1")
        config.server = true
        let id = "0edaddd9-6806-4d75-af0d-83e4527fa921"
        let tags = MemberTags.lan(config: config, nodeID: id)
        let encoded = MemberTags.encode(tags)
        let decoded = MemberTags.decode(encoded)
        #expect(decoded.map(\.0) == tags.map(\.0))
        #expect(decoded.map(\.1) == tags.map(\.1))
        #expect(decoded.first { $0.0 == "id" }?.1 == id)
        #expect(encoded.count < 90, "well-known keys and the binary UUID keep metadata small")
    }

    @Test func unknownKeysAndOddValuesStayExact() {
        let tags = [("custom-key", "value with spaces"), ("id", "NOT-A-UUID"), ("empty", ""),
                    ("upper", "0EDADDD9-6806-4D75-AF0D-83E4527FA921")]
        let decoded = MemberTags.decode(MemberTags.encode(tags))
        #expect(decoded.map(\.0) == tags.map(\.0))
        #expect(decoded.map(\.1) == tags.map(\.1))
    }

    @Test func malformedMetadataNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        let valid = MemberTags.encode([("dc", "dc1"), ("id", NodeIdentity.newUUID()), ("x", "y")])
        for _ in 0..<20_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) { bytes[at] = UInt8.random(in: 0...255, using: &rng) } else { bytes.remove(at: at) }
                if bytes.isEmpty { break }
            }
            _ = MemberTags.decode(bytes)
        }
        #expect(MemberTags.decode([]).isEmpty)
        #expect(MemberTags.decode([9, 1, 2]).isEmpty, "an unknown format yields no tags")
    }
}
