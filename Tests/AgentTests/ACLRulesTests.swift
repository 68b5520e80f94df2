@testable import Agent
@testable import CatalogCore
import Testing

@Suite struct ACLRulesTests {
    @Test("HCL and JSON forms of the same policy read the same")
    func forms() throws {
        let hcl = try ACLRules.parse("""
            # the web team
            service_prefix "web" { policy = "read" }
            service "web-admin" {
              policy = "deny"   // not even a read
              intentions = "read"
            }
            node_prefix "" { policy = "read" }
            key_prefix "config/web/" { policy = "list" },
            /* operators only */
            operator = "read"
            keyring = "deny"
            """)
        let json = try ACLRules.parse("""
            {"service_prefix": {"web": {"policy": "read"}}, "service": {"web-admin": {"policy": "deny", "intentions": "read"}},
             "node_prefix": {"": {"policy": "read"}}, "key_prefix": {"config/web/": {"policy": "list"}},
             "operator": "read", "keyring": "deny"}
            """)
        #expect(hcl == json)
        #expect(hcl.prefix[.service]?["web"] == .read && hcl.exact[.service]?["web-admin"] == .deny)
        #expect(hcl.single[.`operator`] == .read && hcl.single[.keyring] == .deny)
    }

    @Test("an exact rule beats any prefix; the longest prefix wins; at the same length deny wins")
    func matching() throws {
        let rules = try ACLRules.parse("""
            service_prefix "" { policy = "write" }
            service_prefix "web" { policy = "read" }
            service_prefix "web-internal" { policy = "deny" }
            service "web-internal-status" { policy = "read" }
            """)
        #expect(rules.access(.service, "db") == .write)
        #expect(rules.access(.service, "web") == .read)
        #expect(rules.access(.service, "web-frontend") == .read)
        #expect(rules.access(.service, "web-internal-api") == .deny)
        #expect(rules.access(.service, "web-internal-status") == .read)
        #expect(rules.access(.node, "n1") == nil)
        let other = try ACLRules.parse(#"service_prefix "web" { policy = "deny" }"# + "\n" + #"service_prefix "db" { policy = "read" }"#)
        let merged = rules.merged(with: other)
        #expect(merged.access(.service, "web-frontend") == .deny, "same prefix in two policies: deny wins")
        #expect(merged.access(.service, "db") == .read, "a longer prefix from another policy wins over a shorter one")
        #expect(rules.merged(with: try ACLRules.parse(#"service_prefix "web" { policy = "write" }"#)).access(.service, "web") == .write)
    }

    @Test("what each access grants, under either default policy; the management token may do everything")
    func authorizer() throws {
        let rules = try ACLRules.parse("""
            service_prefix "web" { policy = "read" }
            key_prefix "app/" { policy = "list" }
            key "app/secret" { policy = "deny" }
            agent_prefix "" { policy = "write" }
            """)
        let deny = ACLAuthorizer(rules: rules, defaultAllow: false)
        #expect(deny.allows(.service, "web", .read) && !deny.allows(.service, "web", .write))
        #expect(!deny.allows(.service, "db", .read), "no rule: the default policy")
        #expect(deny.allows(.key, "app/a", .list) && deny.allows(.key, "app/a", .read) && !deny.allows(.key, "app/a", .write))
        #expect(!deny.allows(.key, "app/secret", .read))
        #expect(deny.allows(.agent, "n1", .write) && !deny.allows(.`operator`, "", .read))
        let allow = ACLAuthorizer(rules: rules, defaultAllow: true)
        #expect(allow.allows(.service, "db", .write) && !allow.allows(.service, "web", .write))
        #expect(ACLAuthorizer.management.allows(.acl, "", .write) && ACLAuthorizer.management.allows(.key, "app/secret", .write))
    }

    @Test("malformed rules are refused with a sentence naming the problem")
    func refusals() {
        let cases: [(String, String)] = [
            (#"service "web" { policy = "admin" }"#, "needs policy"),
            (#"widget "x" { policy = "read" }"#, "unknown resource \"widget\""),
            (#"operator_prefix "x" { policy = "read" }"#, "unknown resource"),
            (#"operator = "list""#, "operator must be"),
            (#"service "web" { policy = "list" }"#, "key rules only"),
            (#"service "web" { policy = "read" "#, "expected '}'"),
            (#"service "web { policy = "read" }"#, "line 1"),
            ("service\n\"web\" {\n policy = read }", "line 3"),
            ("}", "unexpected '}'"),
            (#"{"service": "web"}"#, "takes names"),
            (#"{"service": "#, "invalid JSON"),
            (String(repeating: "a", count: HCLRules.sizeLimit + 1), "larger than"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ACLRules.parse(text)
                Issue.record("accepted: \(text.prefix(60))")
            } catch {
                #expect(error.description.contains(expected), "\(text.prefix(60)): \(error.description)")
            }
        }
    }
}
