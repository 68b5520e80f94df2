// Faults in the data directory: corrupt or truncated files are named in a
// clear error and never crash the agent; a full disk is logged and
// answered as such while the agent keeps serving, and the registrations
// are saved once space returns.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Data directory faults")
    struct DataDirFaults {
        static func write(_ path: String, _ bytes: [UInt8]) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }

        static func services(_ agent: TestAgent) -> [String]? {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/services"), r.status == 200,
                  let object = (try? JSONValue.parse(r.body))?.objectValue else { return nil }
            return object.map(\.0).sorted()
        }

        @Test("truncated and corrupt files in the data dir are named in the log and skipped; a corrupt node ID or keyring stops the agent with a sentence naming the file")
        func corruptFilesAreNamedNeverACrash() throws {
            try Harness.run("datadir-corrupt") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [184, 194, 204], ports: h.ports)[0]
                let agent = h.addAgent(name: "dd1", ip: ip, retryJoin: [])
                try h.start(agent)
                try h.eventually("the agent takes a service, an external node and an upstream") {
                    let s = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register",
                                                body: Array(#"{"Name":"web","Port":80,"Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"db","LocalBindAddress":"\#(ip)","LocalBindPort":19292}]}}}}"#.utf8))
                    let e = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/catalog/register",
                                                body: Array(#"{"Node":"ext1","Address":"10.2.2.2","Service":{"Service":"db","Port":5432}}"#.utf8))
                    return (s?.status == 200 && e?.status == 200, "\(String(describing: s)) \(String(describing: e))")
                }
                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)
                let dir = agent.dataDir
                let local = FileIO.read(dir + "/local-record")
                h.check(!local.isEmpty, "local-record was written")
                Self.write(dir + "/local-record", Array(local.prefix(local.count / 2)))  // truncated
                Self.write(dir + "/external-records", [0xff, 0xff, 0xff, 0xff, 1, 2, 3])  // a count past the bytes
                Self.write(dir + "/external-records.journal", Array("not a journal at all".utf8))
                Self.write(dir + "/upstreams", Array("{[garbage".utf8))
                Self.write(dir + "/acl-state", [UInt8](repeating: 0xab, count: 300))
                try h.start(agent)
                try h.eventually("the agent serves with the unreadable files skipped") {
                    let services = Self.services(agent)
                    return (services == [], "\(String(describing: services))")
                }
                let log = FileIO.readText(agent.logPath)
                for name in ["local-record", "external-records", "external-records.journal", "upstreams"] {
                    h.check(log.contains(dir + "/" + name), "the log names \(name)")
                }
                h.check(!log.contains("Fatal error"), "no crash")
                // New registrations are saved over the broken files and come back after kill -9.
                let again = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: Array(#"{"Name":"api","Port":81}"#.utf8))
                h.check(again.status == 200, "a registration after the restart: \(again)")
                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)
                try h.start(agent)
                try h.eventually("the new registration is back") {
                    let services = Self.services(agent)
                    return (services == ["api"], "\(String(describing: services))")
                }
                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)

                // A node ID or keyring that cannot be read stops the start with the file named.
                for (file, bytes) in [("node-id", Array("not-a-uuid".utf8)), ("serf/local.keyring", Array("[\"%%%\"]".utf8))] {
                    let saved = FileIO.read(dir + "/" + file)
                    FileIO.makeDirectory(dir + "/serf")
                    Self.write(dir + "/" + file, bytes)
                    let before = FileIO.read(agent.logPath).count
                    try h.start(agent)
                    let status = h.waitForExit(agent, timeout: 30)
                    let output = String(decoding: FileIO.read(agent.logPath).dropFirst(before), as: UTF8.self)
                    h.check(status == .exited(1) && output.contains(dir + "/" + file) && !output.contains("Fatal error"),
                            "a broken \(file) is a clear error: \(String(describing: status)) \(output.suffix(400))")
                    if saved.isEmpty { unlink(dir + "/" + file) } else { Self.write(dir + "/" + file, saved) }
                }
            }
        }

        @Test("with the data dir's disk full, a registration is applied, answered 500 and logged; the agent keeps serving and saves it once space returns")
        func aFullDiskIsSaidAndRecoveredFrom() throws {
            try Harness.run("datadir-full") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [185, 195, 205], ports: h.ports)[0]
                let agent = h.addAgent(name: "full1", ip: ip, retryJoin: [])
                // A small disk of our own for the data dir.
                let mountPoint = h.directory + "/small-disk"
                FileIO.makeDirectory(mountPoint)
                let mounted = try h.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint], label: "mount")
                guard mounted.status == .exited(0) else { throw h.fail("cannot mount a tmpfs: \(mounted)") }
                h.onTeardown { _ = try? h.run("/bin/umount", ["-l", mountPoint], label: "umount") }
                agent.command = [h.binary] + agent.arguments.map { $0 == agent.dataDir ? mountPoint + "/data" : $0 }
                try h.start(agent)
                try h.eventually("the agent answers") {
                    let r = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: Array(#"{"Name":"first","Port":1}"#.utf8))
                    return (r?.status == 200, "\(String(describing: r))")
                }
                // Fill the disk.
                let filler = mountPoint + "/filler"
                let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                let block = [UInt8](repeating: 0, count: 4096)
                while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
                close(fd)
                let refused = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: Array(#"{"Name":"second","Port":2}"#.utf8))
                h.check(refused.status == 500 && refused.text.contains("could not be saved"), "a full disk is a 500 that says so: \(refused)")
                h.check(Self.services(agent) == ["first", "second"], "the agent still serves, the change applied in memory")
                try h.eventually("the log says the registrations could not be saved") {
                    (FileIO.readText(agent.logPath).contains("could not save the local registrations"), "not yet")
                }
                unlink(filler)
                try h.eventually("once space returns the registrations are saved again") {
                    (FileIO.readText(agent.logPath).contains("saving the local registrations works again"), "not yet")
                }
                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)
                try h.start(agent)
                try h.eventually("after kill -9 and a restart both services are back") {
                    let services = Self.services(agent)
                    return (services == ["first", "second"], "\(String(describing: services))")
                }
                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)
            }
        }
    }
}
