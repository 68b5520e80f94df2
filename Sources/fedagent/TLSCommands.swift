import Agent
import Crypto
import Glibc
import Sockets

/// `fedagent tls ca create` and `fedagent tls cert create`: Consul's
/// built-in CA, its file names and its subject alternative names, so the
/// files drop in where Consul's would.
enum TLSCommands {
    static let synopsis = "Builtin helpers for creating CAs and certificates"

    static func run(_ arguments: [String]) -> Int32 {
        Subcommands.run("tls", synopsis, [
            ("ca", "Helpers for CAs", { Subcommands.run("tls ca", "Helpers for CAs", [("create", "Create a new CA", createCA)], $0) }),
            ("cert", "Helpers for certificates", {
                Subcommands.run("tls cert", "Helpers for certificates", [("create", "Create a new certificate", createCert)], $0)
            }),
        ], arguments)
    }

    static let caSpecs: [CommandLineFlags.Spec] = [
        .init("days", .string, "Days the CA is valid (default 1825)."),
        .init("domain", .string, "Domain of the agents (default consul)."),
        .init("name-constraint", .bool, "Limit the CA to the domain, localhost and IPs (a critical name constraint)."),
        .init("additional-name-constraint", .list, "Another permitted DNS domain with -name-constraint."),
        .init("common-name", .string, "Common name of the CA (default: Consul Agent CA <random>)."),
    ]

    static let certSpecs: [CommandLineFlags.Spec] = [
        .init("server", .bool, "A server certificate: server.<dc>.<domain>."),
        .init("client", .bool, "A client certificate: client.<dc>.<domain>."),
        .init("cli", .bool, "A certificate for the CLI: cli.<dc>.<domain>."),
        .init("dc", .string, "Datacenter (default dc1)."),
        .init("node", .string, "With -server: also <node>.server.<dc>.<domain>."),
        .init("domain", .string, "Domain of the agents (default consul)."),
        .init("days", .string, "Days the certificate is valid (default 365)."),
        .init("ca", .string, "The CA certificate (default #DOMAIN#-agent-ca.pem)."),
        .init("key", .string, "The CA key (default #DOMAIN#-agent-ca-key.pem)."),
        .init("additional-dnsname", .list, "Another DNS name for the certificate."),
        .init("additional-ipaddress", .list, "Another IP address for the certificate."),
    ]

    /// Consul's tls commands print errors as `==> ...` and take no arguments.
    static func command(_ arguments: [String], specs: [CommandLineFlags.Spec], usage: String, synopsis: String,
                        _ body: (CommandLineFlags) throws -> Void) -> Int32 {
        PoolCommands.local(arguments, specs: specs, usage: usage, synopsis: synopsis, errorPrefix: "==> ") { flags in
            try Subcommands.noArguments(flags)
            try body(flags)
        }
    }

    static func days(_ flags: CommandLineFlags, default value: Int) throws(AgentClient.Failure) -> Int {
        guard let text = flags.string("days") else { return value }
        guard let days = Int(text), (1...36_500).contains(days) else {
            throw AgentClient.Failure(description: "invalid value \"\(text)\" for -days: want 1 to 36500")
        }
        return days
    }

    static func domain(_ flags: CommandLineFlags) throws(AgentClient.Failure) -> String {
        var domain = flags.string("domain") ?? "consul"
        if domain.hasSuffix(".") { domain.removeLast() }
        guard AgentConfig.isValidDomain(domain + ".") else { throw AgentClient.Failure(description: "invalid value \"\(domain)\" for -domain") }
        return domain
    }

    static func createCA(_ arguments: [String]) -> Int32 {
        command(arguments, specs: caSpecs, usage: "fedagent tls ca create [options]", synopsis: "Creates a new CA: ECDSA P-256, 5 years") { flags in
            let domain = try domain(flags)
            let certFile = "\(domain)-agent-ca.pem", keyFile = "\(domain)-agent-ca-key.pem"
            for file in [certFile, keyFile] where access(file, F_OK) == 0 {
                throw AgentClient.Failure(description: "\(file) already exists: not overwriting it")
            }
            let tag = (SecureRandom.bytes(4) ?? [0, 0, 0, 0]).map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            let permitted = flags.bool("name-constraint") ? [domain, "localhost"] + flags.list("additional-name-constraint") : []
            let ca = try Certificates.createAuthority(commonName: flags.string("common-name") ?? "Consul Agent CA \(tag)",
                                                      days: try days(flags, default: 1825), permittedDomains: permitted)
            try save(certFile, ca.certificatePEM, mode: 0o644)
            try save(keyFile, ca.keyPEM, mode: 0o600)
        }
    }

    static func createCert(_ arguments: [String]) -> Int32 {
        command(arguments, specs: certSpecs, usage: "fedagent tls cert create [-server|-client|-cli] [options]",
                synopsis: "Creates a certificate signed by the CA: ECDSA P-256, 1 year") { flags in
            let kinds = ["server", "client", "cli"].filter { flags.bool($0) }
            guard kinds.count == 1 else { throw AgentClient.Failure(description: "Please provide exactly one of -server, -client or -cli") }
            let kind = kinds[0]
            let domain = try domain(flags)
            let dc = (flags.string("dc") ?? "dc1").lowercased()
            guard AgentConfig.isValidNodeName(dc) else { throw AgentClient.Failure(description: "invalid value \"\(dc)\" for -dc") }
            var names = ["\(kind).\(dc).\(domain)"]
            if let node = flags.string("node") {
                guard kind == "server" else { throw AgentClient.Failure(description: "-node is only for -server certificates") }
                guard AgentConfig.isValidNodeName(node) else { throw AgentClient.Failure(description: "invalid value \"\(node)\" for -node") }
                names.append("\(node).server.\(dc).\(domain)")
            }
            names += ["localhost"] + flags.list("additional-dnsname")
            let ips = ["127.0.0.1"] + flags.list("additional-ipaddress")
            for ip in ips where IPAddress.parse(ip) == nil {
                throw AgentClient.Failure(description: "invalid value \"\(ip)\" for -additional-ipaddress: not an IP address")
            }
            let caFile = flags.string("ca") ?? "\(domain)-agent-ca.pem", caKeyFile = flags.string("key") ?? "\(domain)-agent-ca-key.pem"
            guard let caPEM = read(caFile), let caKeyPEM = read(caKeyFile) else {
                throw AgentClient.Failure(description: "cannot read \(caFile) and \(caKeyFile): create a CA with `fedagent tls ca create`, or name it with -ca and -key")
            }
            if kind == "server" {
                print("""
                    ==> WARNING: Server Certificates grants authority to become a
                        server and access all state in the cluster including root keys
                        and all ACL tokens. Do not distribute them to production hosts
                        that are not server nodes. Store them as securely as CA keys.
                    """)
            }
            print("==> Using \(caFile) and \(caKeyFile)")
            let cert = try Certificates.createLeaf(commonName: names[0], dnsNames: names, ipAddresses: ips,
                                                   days: try days(flags, default: 365),
                                                   authority: Certificates.Issued(certificatePEM: caPEM, keyPEM: caKeyPEM))
            var index = 0
            while access("\(dc)-\(kind)-\(domain)-\(index).pem", F_OK) == 0 || access("\(dc)-\(kind)-\(domain)-\(index)-key.pem", F_OK) == 0 {
                index += 1
            }
            try save("\(dc)-\(kind)-\(domain)-\(index).pem", cert.certificatePEM, mode: 0o644)
            try save("\(dc)-\(kind)-\(domain)-\(index)-key.pem", cert.keyPEM, mode: 0o600)
        }
    }

    static func read(_ path: String) -> String? {
        DataFile.read(path, limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) }
    }

    static func save(_ path: String, _ text: String, mode: mode_t) throws {
        try DataFile.writeAtomically(path, Array(text.utf8))
        chmod(path, mode)
        print("==> Saved \(path)")
    }
}
