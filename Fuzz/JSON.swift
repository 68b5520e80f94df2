// The JSON parser: every HTTP body, config file and ACL entry goes
// through it. Whatever parses must serialize (compact and pretty) to
// text that parses to the same value.
import JSON

func fuzz(_ bytes: [UInt8]) {
    guard let value = try? JSONValue.parse(bytes, maxDepth: 64) else { return }
    for pretty in [false, true] {
        let text = value.serialized(pretty: pretty)
        guard let again = try? JSONValue.parse(text, maxDepth: 64) else {
            fuzzFail("serialized value does not parse: \(value.serializedString())")
        }
        fuzzRequire(again == value, "round trip changed the value: \(value.serializedString())")
    }
}

func fuzzSeeds() -> [[UInt8]] {
    [
        #"{"ID":"web","Tags":["a","b"],"Port":80,"Meta":{"k":"v"},"Check":{"TTL":"10s"}}"#,
        #"[1,-2.5e-3,true,false,null,"\ud83d\ude00\n\t\"\\\/",{"":[]}]"#,
        #"{"a":{"b":{"c":[[[[1]]]]}},"n":123456789012345678901234567890,"f":1.5E+300}"#,
        "  \"plain\"  ", "0", "-0.0e-0", "{\"dup\":1,\"dup\":2}",
    ].map(\.fuzzBytes)
}
