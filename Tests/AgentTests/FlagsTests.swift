@testable import Agent
@testable import CatalogCore
import Testing

@Suite struct FlagsTests {
    func config(_ args: [String]) throws -> AgentConfig {
        try AgentConfig.from(CommandLineFlags(args, specs: AgentConfig.flagSpecs), hostName: "host")
    }

    @Test func consulFlagFormsAreAccepted() throws {
        let c = try config(["-node", "a", "--datacenter=DC2", "-bind=127.0.0.5", "-retry-join", "10.0.0.1",
                            "-retry-join=10.0.0.2:8301", "-http-port", "8501", "-server"])
        #expect(c.nodeName == "a")
        #expect(c.datacenter == "dc2")
        #expect(c.bindAddress == "127.0.0.5")
        #expect(c.retryJoin == ["10.0.0.1", "10.0.0.2:8301"])
        #expect(c.httpPort == 8501)
        #expect(c.server)
    }

    @Test func dnsFlags() throws {
        let c = try config(["-domain", "Example", "-alt-domain", "cluster.local.", "-recursor", "10.0.0.53",
                            "-recursor", "[2001:db8::53]:5353", "-dns-port", "0"])
        #expect(c.domain == "Example." && c.altDomain == "cluster.local.")
        #expect(c.recursors == ["10.0.0.53", "[2001:db8::53]:5353"])
        #expect(c.dnsPort == 0, "0 turns DNS off")
    }

    @Test func devModeIsALocalServer() throws {
        let c = try config(["-dev"])
        #expect(c.dev && c.server)
        #expect(c.bindAddress == "127.0.0.1")
        #expect(c.clientAddress == "127.0.0.1")
        #expect(c.nodeName == "host")
    }

    @Test func badFlagsGiveOneLineErrorsNamingTheFlag() {
        let cases: [([String], String)] = [
            (["-bogus"], "-bogus"),
            (["-http-port", "99999"], "-http-port"),
            (["-http-port"], "-http-port"),
            (["-bind", "not-an-ip"], "-bind"),
            (["-node", "bad name!"], "bad name!"),
            (["-log-level", "loud"], "-log-level"),
            (["-dev=maybe"], "-dev"),
            (["-encrypt", "abc"], "-encrypt"),
            (["-recursor", "dns.example"], "-recursor"),
            (["-domain", "a..b"], "-domain"),
            (["-alt-domain", String(repeating: "x", count: 64)], "-alt-domain"),
        ]
        for (args, mention) in cases {
            do {
                _ = try config(args)
                Issue.record("\(args) should be refused")
            } catch {
                let text = "\(error)"
                #expect(text.contains(mention), "\(args): \(text)")
                #expect(!text.contains("\n"))
            }
        }
    }

    @Test func helpIsRecognisedEverywhere() throws {
        #expect(try CommandLineFlags(["-h"], specs: []).wantsHelp)
        #expect(try CommandLineFlags(["--help"], specs: []).wantsHelp)
    }
}
