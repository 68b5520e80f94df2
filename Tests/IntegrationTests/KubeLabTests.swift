// The manifests in real pods: scripts/kube-demo.sh plays overlays/eks (dc1)
// and overlays/aks (dc2) with podman as two clusters joined only through
// their gateway (server) pods, then the test does to the pods what a
// cluster does to them: re-creates a server pod and a sidecar pod under the
// same name at a new address, deletes a pod, re-creates every server of a
// datacenter at once. Everything the lab made (pods, networks, the image,
// files) is removed, also on failure.

import Glibc
import JSON
import TestSupport
import Testing

extension Integration {
    @Suite("Kubernetes pod lab",
           .enabled("needs root, podman and kubectl (scripts/test.sh installs podman; kubectl is in the machine image)") {
               getuid() == 0 && NetnsLab.findProgram("podman") != nil && NetnsLab.findProgram("kubectl") != nil
           })
    struct KubeLab {
        static let root = Harness.repositoryRoot

        /// One lab, driven through scripts/kube-demo.sh's commands.
        struct Lab {
            let h: Harness
            let environment: [String]

            func demo(_ args: [String], timeout: Double = 420) throws -> CommandResult {
                try h.run(KubeLab.root + "/scripts/kube-demo.sh", args, label: "kube-demo.sh", environment: environment, timeout: timeout)
            }

            /// The lab's pods: "cluster/name" -> (address, WAN address).
            func pods() throws -> [String: (ip: String, wan: String?)] {
                let r = try demo(["info"], timeout: 60)
                var out: [String: (String, String?)] = [:]
                for (key, value) in (try? JSONValue.parse(r.stdout).objectValue) ?? [] {
                    out[key] = (value["ip"]?.stringValue ?? "", value["wan_ip"]?.stringValue)
                }
                return out
            }

            func pod(_ prefix: String) throws -> String {
                guard let key = try pods().keys.sorted().first(where: { $0.hasPrefix(prefix) }) else {
                    throw h.fail("no pod \(prefix)* in the lab")
                }
                return key
            }

            func fedagent(_ pod: String, _ args: [String]) throws -> CommandResult {
                try demo(["exec", pod, "fedagent", "fedagent"] + args, timeout: 60)
            }

            /// `fedagent catalog nodes -detailed` rows: node -> [(ID, address, the rest: tagged addresses and meta)], every row kept.
            func catalogNodes(from pod: String) throws -> [String: [(id: String, address: String, tagged: String)]] {
                let r = try fedagent(pod, ["catalog", "nodes", "-detailed"])
                var out: [String: [(String, String, String)]] = [:]
                for line in r.stdout.split(separator: "\n").dropFirst() {
                    let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                    if f.count >= 3 { out[f[0], default: []].append((f[1], f[2], f.dropFirst(4).joined(separator: " "))) }
                }
                return out
            }

            /// `fedagent members` rows for `node` (every row, to count them).
            func memberRows(from pod: String, node: String, wan: Bool = false) throws -> [[String]] {
                let r = try fedagent(pod, ["members"] + (wan ? ["-wan"] : []))
                return r.stdout.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
                    .filter { $0.first == node }
            }
        }

        @Test("kube-demo.sh: both overlays run as pods; `members -wan` lists the six servers, the frontend resolves dc2's backend with getaddrinfo and Chromium gets predictions; pods re-created, deleted and restarted behave as nodes should")
        func podLab() throws {
            try Harness.run("kubelab") { h in
                let conf = "CONTAINERS_CONF=\(Self.root)/docker/containers.conf"
                let image = "localhost/fedagent-kubelab-\(getpid()):latest"
                let lab = Lab(h: h, environment: [conf, "KUBE_LAB_DIR=\(h.directory)/lab", "KUBE_LAB_TAG=kl\(getpid())",
                                                  "KUBE_LAB_SUBNET=\(Self.freeSubnetPrefix())", "FEDAGENT_IMAGE=\(image)"])
                let scratch = h.directory + "/build"
                h.onTeardown {
                    _ = try? lab.demo(["down"], timeout: 300)
                    _ = NetnsLab.capture("/usr/bin/env", [conf, "podman", "rmi", "-f", image])
                    let prefix = scratch.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_")
                    for name in directoryEntries("/tmp") where name.hasPrefix(prefix) { unlink("/tmp/" + name) }
                }
                let build = try h.run(Self.root + "/docker/build.sh", [image], label: "docker/build.sh",
                                      environment: [conf, "SCRATCH=\(scratch)"], timeout: 1500)
                guard h.check(build.status == .exited(0), "docker/build.sh: \(build)") else { return }

                let up = try lab.demo(["up"], timeout: 1800)
                guard h.check(up.status == .exited(0) && up.stdout.contains("every pod ready"), "kube-demo.sh up: \(up)") else { return }

                // The seed's verification, from inside the pods.
                let verify = try lab.demo(["verify"])
                h.check(verify.status == .exited(0), "kube-demo.sh verify: \(verify.stdout.suffix(3000)) \(verify.stderr.suffix(2000))")
                for dc in ["dc1", "dc2"] {
                    for i in 0..<3 {
                        h.check(verify.stdout.contains("fedagent-server-\(i).\(dc) "), "members -wan lists fedagent-server-\(i).\(dc)")
                    }
                }
                h.check(verify.stdout.split(separator: "\n").filter { $0.contains("#prediction: Prediction: ") }.count >= 2,
                        "Chromium saw predictions: \(verify.stdout.suffix(1500))")

                try serverKeepsIdentity(lab)
                try sidecarIsOneNode(lab)
                try deletedPodLeaves(lab)
                try clientRejoinsRestartedServers(lab)
            }
        }

        /// A server pod deleted and re-created (same name, new address, same claim)
        /// is the same node: the node ID kept in its /data, listed once, alive.
        func serverKeepsIdentity(_ lab: Lab) throws {
            let h = lab.h
            let before = try lab.catalogNodes(from: "eks/fedagent-server-0")["fedagent-server-1"] ?? []
            let oldIP = try lab.pods()["eks/fedagent-server-1"]?.ip
            let recreate = try lab.demo(["recreate", "eks/fedagent-server-1"])
            guard h.check(recreate.status == .exited(0), "recreate eks/fedagent-server-1: \(recreate)") else { return }
            let recreated = try lab.pods()["eks/fedagent-server-1"]
            let newIP = recreated?.ip ?? ""
            h.check(before.count == 1 && newIP != oldIP, "one catalog entry before (\(before)); a new address (\(String(describing: oldIP)) -> \(newIP))")
            try h.eventually("the re-created server is one node in the catalog: its old ID at its new address", timeout: 120) {
                let after = try lab.catalogNodes(from: "eks/fedagent-server-0")["fedagent-server-1"] ?? []
                return (after.count == 1 && after[0].id == before.first?.id && after[0].address == newIP, "\(after) vs \(before)")
            }
            // Its `wan` tagged address is the gateway's (advertise_addr_wan), as in Consul.
            let tagged = try lab.catalogNodes(from: "eks/fedagent-server-0")["fedagent-server-1"]?.first?.tagged ?? ""
            h.check(tagged.split(whereSeparator: { $0 == "," || $0 == " " }).contains("wan=\(recreated?.wan ?? "?")"), "tagged addresses \(tagged), WAN \(String(describing: recreated?.wan))")
            try h.eventually("the re-created server is alive in the LAN pool, listed once", timeout: 120) {
                let rows = try lab.memberRows(from: "eks/fedagent-server-2", node: "fedagent-server-1")
                return (rows.count == 1 && rows[0].count > 2 && rows[0][1].hasPrefix(newIP + ":") && rows[0][2] == "alive", "\(rows)")
            }
        }

        /// A sidecar pod re-created under its name at a new address: the same node,
        /// listed once, alive, its service registered again.
        func sidecarIsOneNode(_ lab: Lab) throws {
            let h = lab.h
            let key = try lab.pod("eks/digits-frontend-")
            let node = String(key.dropFirst("eks/".count))
            let recreate = try lab.demo(["recreate", key])
            guard h.check(recreate.status == .exited(0), "recreate \(key): \(recreate)") else { return }
            let newIP = try lab.pods()[key]?.ip ?? ""
            try h.eventually("the re-created sidecar is one node at its new address, alive", timeout: 120) {
                let rows = try lab.memberRows(from: "eks/fedagent-server-0", node: node)
                let nodes = try lab.catalogNodes(from: "eks/fedagent-server-0")[node] ?? []
                let ok = rows.count == 1 && rows[0].count > 2 && rows[0][1].hasPrefix(newIP + ":") && rows[0][2] == "alive"
                    && nodes.count == 1 && nodes[0].address == newIP
                return (ok, "members \(rows); catalog \(nodes)")
            }
            try h.eventually("the frontend is registered again from the re-created pod", timeout: 120) {
                let r = try lab.fedagent("eks/fedagent-server-0", ["catalog", "nodes", "-service", "frontend"])
                return (r.stdout.contains(node) && r.stdout.contains(newIP), r.stdout)
            }
        }

        /// A deleted pod (SIGTERM, grace period) leaves: `left`, not `failed`.
        func deletedPodLeaves(_ lab: Lab) throws {
            let h = lab.h
            let backends = try lab.pods().keys.filter { $0.hasPrefix("aks/digits-backend-") }.sorted()
            guard h.check(backends.count == 2, "two backend pods: \(backends)"), let gone = backends.last else { return }
            let delete = try lab.demo(["delete", gone])
            guard h.check(delete.status == .exited(0), "delete \(gone): \(delete)") else { return }
            let node = String(gone.dropFirst("aks/".count))
            var status = ""
            try h.eventually("the deleted pod is no longer alive", timeout: 60) {
                let rows = try lab.memberRows(from: "aks/fedagent-server-0", node: node)
                status = rows.count == 1 && rows[0].count > 2 ? rows[0][2] : "rows \(rows)"
                return (status == "left" || status == "failed", status)
            }
            h.check(status == "left", "the deleted pod left the pool (it did not fail): \(status)")
        }

        /// Every server of dc2 re-created at once at new addresses: the remaining
        /// client joins them again by itself, and its service is in the catalog.
        func clientRejoinsRestartedServers(_ lab: Lab) throws {
            let h = lab.h
            let client = try lab.pod("aks/digits-backend-")
            let servers = (0..<3).map { "aks/fedagent-server-\($0)" }
            let recreate = try lab.demo(["recreate"] + servers)
            guard h.check(recreate.status == .exited(0), "recreate dc2's servers: \(recreate)") else { return }
            let pods = try lab.pods()
            try h.eventually("the client sees the three re-created servers alive at their new addresses", timeout: 180) {
                var detail: [String] = []
                var ok = true
                for (i, server) in servers.enumerated() {
                    let rows = try lab.memberRows(from: client, node: "fedagent-server-\(i)")
                    let ip = pods[server]?.ip ?? "?"
                    ok = ok && rows.count == 1 && rows[0].count > 2 && rows[0][1].hasPrefix(ip + ":") && rows[0][2] == "alive"
                    detail.append("\(server) at \(ip): \(rows)")
                }
                return (ok, detail.joined(separator: "\n"))
            }
            let node = String(client.dropFirst("aks/".count))
            try h.eventually("the restarted servers' catalog has the client's backend again", timeout: 120) {
                let r = try lab.fedagent("aks/fedagent-server-0", ["catalog", "nodes", "-service", "backend"])
                return (r.stdout.contains(node), r.stdout)
            }
        }

        /// A 10.x prefix whose x.1-3.0/24 networks no podman network or route uses.
        static func freeSubnetPrefix() -> String {
            let routes = NetnsLab.capture("/usr/bin/env", ["ip", "-4", "route"]).stdout
                + NetnsLab.capture("/usr/bin/env", ["podman", "network", "ls", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}"]).stdout
            for second in 200..<250 where !routes.contains("10.\(second).") {
                return "10.\(second)"
            }
            return "10.213"
        }
    }
}
