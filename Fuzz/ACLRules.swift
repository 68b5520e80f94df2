// ACL policy rules, which arrive in policies over the HTTP API and in ACL
// entries gossiped between agents: the HCL subset (HCLRules) or JSON,
// interpreted into ACLRules.
import Agent

func fuzz(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? HCLRules.parse(text)
    if let rules = try? ACLRules.parse(text) {
        _ = rules.merged(with: rules)
    }
}

func fuzzSeeds() -> [[UInt8]] {
    [
        "service_prefix \"web\" { policy = \"write\" }\nnode_prefix \"\" { policy = \"read\" }\n",
        "# comment\nkey \"a/b\" {\n  policy = \"list\", # trailing\n}\n/* block */ operator = \"read\"\nagent_prefix \"\" { policy = \"deny\" intentions = \"read\" }\n",
        "acl = \"write\"\nkeyring = \"read\"\nevent_prefix \"deploy\" { policy = \"write\" }\n// line\nquery \"q\" { policy = \"read\" }",
        #"{"service_prefix":{"":{"policy":"read"}},"key":{"k":{"policy":"write"}},"operator":"write"}"#,
        "session_prefix \"\" {\n\tpolicy = \"write\"\n}\nnum = 12\nflag = true\n",
    ].map(\.fuzzBytes)
}
