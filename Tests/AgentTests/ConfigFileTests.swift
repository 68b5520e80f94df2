@testable import Agent
@testable import CatalogCore
import Crypto
import Glibc
import Membership
import TestSupport
import Testing

/// A scratch directory under /tmp; `remove()` deletes it and what it holds.
struct TempDir {
    let path: String

    init() throws {
        var template = Array("/tmp/fedagent-config-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw DataFile.WriteError(description: "mkdtemp failed") }
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `text` to `name` inside the directory and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try DataFile.writeAtomically(file, Array(text.utf8))
        return file
    }

    func makeSubdirectory(_ name: String) { mkdir(path + "/" + name, 0o700) }

    func remove() {
        for name in ConfigFileTests.entries(path) where unlink(path + "/" + name) != 0 { rmdir(path + "/" + name) }
        rmdir(path)
    }
}

@Suite struct ConfigFileTests {
    static func entries(_ dir: String) -> [String] { directoryEntries(dir) }

    func config(_ args: [String]) throws -> AgentConfig {
        try AgentConfig.from(CommandLineFlags(args, specs: AgentConfig.flagSpecs), hostName: "host")
    }

    /// The error text `args` produce, or nil when they are accepted.
    func failure(_ args: [String]) -> String? {
        do {
            _ = try config(args)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func everyKeyMaps() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("all.json", """
            {
              "datacenter": "EU-West", "node_name": "web-1", "server": true,
              "bind_addr": "10.0.0.5", "advertise_addr": "10.0.0.6", "advertise_addr_wan": "203.0.113.7",
              "serf_lan": "10.0.0.8", "serf_wan": "10.0.0.9", "client_addr": "0.0.0.0",
              "ports": {"http": 18500, "dns": 18600, "serf_lan": 18301, "serf_wan": 18302, "server": 18300},
              "retry_join": ["10.0.0.1", "10.0.0.2:8301"], "retry_join_wan": ["198.51.100.1"],
              "data_dir": "/var/lib/fedagent", "log_level": "debug", "domain": "example", "encrypt": "",
              "alt_domain": "cluster.local", "recursors": ["10.0.0.53", "10.0.0.54:5353"],
              "services": [{"name": "web", "port": 80}, {"name": "api"}], "service": {"name": "db"},
              "checks": [{"id": "c1"}], "check": {"id": "c2"},
              "dns_config": {"only_passing": true, "node_ttl": "10s", "service_ttl": {"*": "5s", "web": "1m30s"},
                             "udp_answer_limit": 5, "a_record_limit": 2, "enable_truncate": false,
                             "recursor_timeout": "500ms", "soa": {"min_ttl": 30}}
            }
            """)
        let c = try config(["-config-file", file])
        #expect(c.warnings.isEmpty)
        #expect(c.datacenter == "eu-west" && c.nodeName == "web-1" && c.server)
        #expect(c.bindAddress == "10.0.0.5" && c.advertiseAddress == "10.0.0.6" && c.advertiseWANAddress == "203.0.113.7")
        #expect(c.serfLANBind == "10.0.0.8" && c.serfWANBind == "10.0.0.9" && c.clientAddress == "0.0.0.0")
        #expect([c.httpPort, c.dnsPort, c.serfLANPort, c.serfWANPort, c.serverPort] == [18500, 18600, 18301, 18302, 18300])
        #expect(c.retryJoin == ["10.0.0.1", "10.0.0.2:8301"] && c.retryJoinWAN == ["198.51.100.1"])
        #expect(c.dataDir == "/var/lib/fedagent" && c.logLevel == .debug && c.domain == "example.")
        #expect(c.altDomain == "cluster.local." && c.recursors == ["10.0.0.53", "10.0.0.54:5353"])
        #expect(c.serviceDefinitions.compactMap { $0["name"]?.stringValue } == ["web", "api", "db"])
        #expect(c.serviceDefinitions.first?["port"]?.intValue == 80)
        #expect(c.checkDefinitions.compactMap { $0["id"]?.stringValue } == ["c1", "c2"])
        var dns = DNSSettings()
        dns.onlyPassing = true
        dns.nodeTTL = "10s"
        dns.serviceTTL = "5s"
        dns.serviceTTLByName = ["web": "1m30s"]
        dns.udpAnswerLimit = 5
        dns.aRecordLimit = 2
        dns.enableTruncate = false
        dns.soaMinTTL = 30
        dns.recursorTimeout = "500ms"
        #expect(c.dns == dns)
    }

    @Test func defaultsWithoutFiles() throws {
        let c = try config([])
        #expect(c.dns == DNSSettings())
        #expect(c.dns.udpAnswerLimit == 3 && c.dns.enableTruncate && !c.dns.onlyPassing && c.dns.nodeTTL == "0s")
        #expect(c.serviceDefinitions.isEmpty && c.checkDefinitions.isEmpty && c.warnings.isEmpty)
    }

    @Test func laterFilesWinAndListsAppend() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let a = try dir.write("a.json", #"{"node_name": "a", "datacenter": "dc1", "retry_join": ["1.1.1.1"], "services": [{"name": "x"}], "ports": {"http": 1000}}"#)
        let b = try dir.write("b.json", #"{"node_name": "b", "retry_join": ["2.2.2.2"], "service": {"name": "y"}, "ports": {"dns": 0}}"#)
        let c = try config(["-config-file", a, "-config-file", b])
        #expect(c.nodeName == "b" && c.datacenter == "dc1")
        #expect(c.retryJoin == ["1.1.1.1", "2.2.2.2"])
        #expect(c.serviceDefinitions.compactMap { $0["name"]?.stringValue } == ["x", "y"])
        #expect(c.httpPort == 1000 && c.dnsPort == 0)
    }

    @Test func flagsWinOverFiles() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("a.json", #"{"node_name": "file", "datacenter": "dc9", "ports": {"http": 1000, "serf_lan": 2000}, "retry_join": ["1.1.1.1"], "server": true, "advertise_addr": "10.1.1.1"}"#)
        let c = try config(["-config-file", file, "-node", "flag", "-http-port", "3000", "-retry-join", "2.2.2.2",
                            "-server=false", "-advertise", "10.2.2.2"])
        #expect(c.nodeName == "flag" && c.httpPort == 3000 && !c.server && c.advertiseAddress == "10.2.2.2")
        #expect(c.datacenter == "dc9" && c.serfLANPort == 2000)
        #expect(c.retryJoin == ["1.1.1.1", "2.2.2.2"])
    }

    @Test func devModeAndFilesWorkTogether() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("a.json", #"{"bind_addr": "127.0.0.2", "node_name": "dev-node"}"#)
        let c = try config(["-dev", "-config-file", file])
        #expect(c.dev && c.server && c.bindAddress == "127.0.0.2" && c.nodeName == "dev-node")
    }

    @Test func configDirLoadsJSONFilesInLexicalOrder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("b.json", #"{"node_name": "b", "retry_join": ["b"]}"#)
        try dir.write("a.json", #"{"node_name": "a", "retry_join": ["a"], "datacenter": "dca"}"#)
        try dir.write("B.json", #"{"node_name": "upper", "retry_join": ["B"]}"#)
        try dir.write("notes.txt", "not json at all")
        try dir.write("c.json.bak", "{")
        dir.makeSubdirectory("sub.json")
        #expect(try ConfigFile.jsonFiles(inDirectory: dir.path) == ["B.json", "a.json", "b.json"].map { dir.path + "/" + $0 })
        let c = try config(["-config-dir", dir.path])
        #expect(c.nodeName == "b" && c.datacenter == "dca")
        #expect(c.retryJoin == ["B", "a", "b"])

        // -config-file goes after every -config-dir, so it wins.
        let other = try TempDir()
        defer { other.remove() }
        let override = try other.write("override.json", #"{"node_name": "override"}"#)
        #expect(try config(["-config-file", override, "-config-dir", dir.path]).nodeName == "override")
        #expect(failure(["-config-dir", dir.path + "/missing"])?.contains(dir.path + "/missing") == true)
    }

    @Test func unknownKeysWarnAndTheRestLoads() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("a.json", #"{"ui": true, "ui_config": {"content_path": "/x"}, "node_name": "n", "ports": {"grpc": 8502, "http": 9000}, "dns_config": {"enable_additional_node_meta_txt": false, "soa": {"refresh": 5, "min_ttl": 7}}}"#)
        let c = try config(["-config-file", file])
        #expect(c.nodeName == "n" && c.httpPort == 9000 && c.dns.soaMinTTL == 7 && c.uiEnabled)
        #expect(c.warnings == ["ui_config.content_path", "ports.grpc", "dns_config.enable_additional_node_meta_txt", "dns_config.soa.refresh"].map {
            "config file \(file): unknown key \"\($0)\" ignored"
        })
    }

    @Test func badValuesAreOneLineErrorsNamingFileAndKey() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let cases: [(String, String)] = [
            (#"{"datacenter": 1}"#, "datacenter"),
            (#"{"datacenter": "bad dc"}"#, "datacenter"),
            (#"{"node_name": "bad name!"}"#, "node_name"),
            (#"{"server": "yes"}"#, "server"),
            (#"{"bind_addr": "not-an-ip"}"#, "bind_addr"),
            (#"{"advertise_addr": "0.0.0.0"}"#, "advertise_addr"),
            (#"{"advertise_addr_wan": "{{ GetPrivateIP }}"}"#, "advertise_addr_wan"),
            (#"{"serf_lan": 5}"#, "serf_lan"),
            (#"{"serf_wan": "x"}"#, "serf_wan"),
            (#"{"client_addr": "1.2.3"}"#, "client_addr"),
            (#"{"ports": 8500}"#, "ports"),
            (#"{"ports": {"http": 99999}}"#, "ports.http"),
            (#"{"ports": {"http": 0}}"#, "ports.http"),
            (#"{"ports": {"dns": "8600"}}"#, "ports.dns"),
            (#"{"ports": {"serf_lan": 1.5}}"#, "ports.serf_lan"),
            (#"{"ports": {"serf_wan": -1}}"#, "ports.serf_wan"),
            (#"{"ports": {"server": null}}"#, "ports.server"),
            (#"{"retry_join": "10.0.0.1"}"#, "retry_join"),
            (#"{"retry_join_wan": ["a", 2]}"#, "retry_join_wan[1]"),
            (#"{"data_dir": ""}"#, "data_dir"),
            (#"{"log_level": "loud"}"#, "log_level"),
            (#"{"domain": []}"#, "domain"),
            (#"{"encrypt": "abc"}"#, "encrypt"),
            (#"{"services": {"name": 1} }"#, ""),  // a single object is accepted: not an error
            (#"{"services": [{"name": "a"}, "b"]}"#, "services[1]"),
            (#"{"check": 3}"#, "check"),
            (#"{"dns_config": {"only_passing": 1}}"#, "dns_config.only_passing"),
            (#"{"dns_config": {"node_ttl": "10"}}"#, "dns_config.node_ttl"),
            (#"{"dns_config": {"service_ttl": {"web": "-1s"}}}"#, "dns_config.service_ttl.web"),
            (#"{"dns_config": {"udp_answer_limit": -1}}"#, "dns_config.udp_answer_limit"),
            (#"{"dns_config": {"a_record_limit": "2"}}"#, "dns_config.a_record_limit"),
            (#"{"dns_config": {"enable_truncate": null}}"#, "dns_config.enable_truncate"),
            (#"{"dns_config": {"soa": {"min_ttl": -5}}}"#, "dns_config.soa.min_ttl"),
            (#"{"dns_config": []}"#, "dns_config"),
        ]
        for (index, (json, key)) in cases.enumerated() {
            let file = try dir.write("case\(index).json", json)
            let error = failure(["-config-file", file])
            if key.isEmpty {
                #expect(error == nil, "\(json): \(error ?? "")")
                continue
            }
            guard let error else {
                Issue.record("\(json) should be refused")
                continue
            }
            #expect(error.hasPrefix("config file \(file): \"\(key)\""), "\(json): \(error)")
            #expect(!error.contains("\n"), "\(json): \(error)")
        }
    }

    @Test func badFilesAreClearErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let malformed = try dir.write("bad.json", "{\"node_name\": \"a\",\n \"server\": tru}")
        let error = failure(["-config-file", malformed]) ?? ""
        #expect(error.hasPrefix("config file \(malformed): invalid JSON: ") && error.contains("offset"), "\(error)")
        #expect(!error.contains("\n"))

        let array = try dir.write("array.json", "[1]")
        #expect(failure(["-config-file", array])?.contains("top level must be a JSON object") == true)

        let missing = dir.path + "/missing.json"
        #expect(failure(["-config-file", missing]) == "config file \(missing): No such file or directory")

        let hcl = try dir.write("a.hcl", "node_name = \"a\"")
        #expect(failure(["-config-file", hcl])?.contains("HCL is not supported") == true)
        #expect(failure(["-config-dir", dir.path])?.contains("a.hcl") == true)

        #expect(failure(["-config-file", dir.path])?.contains("not a regular file") == true)

        let huge = try dir.write("huge.json", String(repeating: " ", count: ConfigFile.sizeLimit) + "{}")
        #expect(failure(["-config-file", huge])?.contains("limit") == true)
    }

    @Test func flagErrorsStillNameTheFlag() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("a.json", #"{"bind_addr": "10.0.0.1"}"#)
        #expect(failure(["-config-file", file, "-bind", "nope"])?.contains("-bind") == true)
        #expect(failure(["-advertise-wan", "0.0.0.0"])?.contains("-advertise-wan") == true)
        #expect(failure(["-encrypt", "k", "-config-file", file]) == "invalid value for -encrypt: key is not valid base64 (standard alphabet, padded)")
        #expect(failure(["-encrypt", "AAAAAAAAAAAAAAAAAAAAAA=="]) == nil)
        #expect(failure(["-encrypt", "AAAAAAAAAAAAAAAAAAAA"])?.contains("must be 16, 24 or 32 bytes, not 15") == true)
    }

    @Test func goDurations() {
        let valid: [(String, Int64)] = [
            ("0", 0), ("0s", 0), ("+5s", 5_000_000_000), ("300ms", 300_000_000), ("1.5h", 5_400_000_000_000),
            ("2h45m", 9_900_000_000_000), ("1h2m3.5s", 3_723_500_000_000), ("1m30s", 90_000_000_000),
            ("7ns", 7), ("10us", 10_000), ("10µs", 10_000), ("10μs", 10_000), (".5s", 500_000_000),
            ("1.s", 1_000_000_000), ("1.000000001s", 1_000_000_001), ("2562047h", 9_223_369_200_000_000_000),
        ]
        for (text, nanoseconds) in valid {
            #expect(GoDuration.parseNanoseconds(text) == nanoseconds, "\(text)")
        }
        #expect(GoDuration.parse("1m30s") == .seconds(90))
        for text in ["", "1", "-1s", "-0", "s", ".s", "1x", "1sm", "1 s", " 1s", "1s ", "1..5s", "+", "1h-2m", "2562048h", "99999999999999999999ns"] {
            #expect(GoDuration.parse(text) == nil, "\(text)")
        }
    }
}

@Suite struct EncryptConfigTests {
    @Test("encrypt, encrypt_verify_incoming and encrypt_verify_outgoing come from files; -encrypt wins over the file's key")
    func encryptKeys() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("gossip.json", #"{"encrypt": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "encrypt_verify_incoming": false, "encrypt_verify_outgoing": false}"#)
        let c = try AgentConfig.from(CommandLineFlags(["-config-file", file], specs: AgentConfig.flagSpecs), hostName: "h")
        #expect(c.encryptKey?.bytes == Array(0..<32))
        #expect(!c.encryptVerifyIncoming && !c.encryptVerifyOutgoing)
        let flagged = try AgentConfig.from(CommandLineFlags(["-config-file", file, "-encrypt", "AQEBAQEBAQEBAQEBAQEBAQ=="], specs: AgentConfig.flagSpecs), hostName: "h")
        #expect(flagged.encryptKey?.bytes == [UInt8](repeating: 1, count: 16))
        let defaults = try AgentConfig.from(CommandLineFlags([], specs: AgentConfig.flagSpecs), hostName: "h")
        #expect(defaults.encryptKey == nil && defaults.encryptVerifyIncoming && defaults.encryptVerifyOutgoing)
        let bad = try dir.write("bad.json", #"{"encrypt": "AAAA"}"#)
        #expect(throws: CommandLineFlags.ParseError.self) {
            try AgentConfig.from(CommandLineFlags(["-config-file", bad], specs: AgentConfig.flagSpecs), hostName: "h")
        }
    }

    @Test("a keyring file wins over -encrypt, survives a round trip, and a broken one stops the agent instead of falling back to plaintext")
    func keyringFiles() throws {
        let dir = try TempDir()
        defer {
            unlink(dir.path + "/serf/local.keyring")
            rmdir(dir.path + "/serf")
            dir.remove()
        }
        var c = AgentConfig(nodeName: "n")
        c.dataDir = dir.path
        c.encryptKey = AESGCM.Key([UInt8](repeating: 7, count: 32))
        // No file yet: -encrypt's key.
        #expect(try KeyringFile.encryption(for: .lan, config: c).keyring?.keys == [c.encryptKey!])
        let ring = try #require(Keyring(keys: [AESGCM.Key([UInt8](repeating: 1, count: 16))!, AESGCM.Key([UInt8](repeating: 2, count: 24))!]))
        dir.makeSubdirectory("serf")
        _ = try dir.write("serf/local.keyring", String(decoding: KeyringFile.encode(ring), as: UTF8.self))
        #expect(try KeyringFile.encryption(for: .lan, config: c).keyring?.keys == ring.keys)
        // The WAN ring is its own file.
        #expect(try KeyringFile.encryption(for: .wan, config: c).keyring?.keys == [c.encryptKey!])
        for broken in ["[]", "{}", "[\"AAAA\"]", "[1]", "not json"] {
            _ = try dir.write("serf/local.keyring", broken)
            #expect(throws: AgentError.self) { try KeyringFile.encryption(for: .lan, config: c) }
        }
    }
}
