// The seed's workload end to end: scripts/federation-demo.sh with the
// agent under test. An ML backend in dc2, its frontend in dc1 behind an
// upstream port, isolated networks with only the servers on the WAN, and
// headless Chromium reading the predicted digit off the frontend's page.

import Glibc
import Testing

extension Integration {
    @Suite("The federation demo",
           .enabled("needs root and Linux network namespaces (`ip netns`); the reason is printed when skipped") {
               NetnsLab.isAvailable
           })
    struct FederationDemo {
        /// The repository this test was built from.
        static let root: String = {
            var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
            parts.removeLast(3)  // Tests/IntegrationTests/DemoTests.swift
            return parts.joined(separator: "/")
        }()

        @Test("scripts/federation-demo.sh: dc1's frontend reaches dc2's digit classifier through the gateways, and Chromium shows the predictions")
        func demoRunsEndToEnd() throws {
            try Harness.run("demo") { h in
                let script = Self.root + "/scripts/federation-demo.sh"
                let result = try h.run("/bin/bash", [script], label: "federation-demo.sh",
                                       environment: ["FEDAGENT_BIN=\(h.binary)", "FED_PREFIX=fdt\(getpid())"], timeout: 600)
                let out = result.stdout
                h.check(result.status == .exited(0), "the demo succeeds: \(result.status)\n\(out.suffix(3000))\n\(result.stderr.suffix(3000))")
                h.check(out.contains("s1.dc1") && out.contains("s1.dc2"), "members -wan shows both datacenters' servers")
                h.check(out.contains("backend.service.dc2.consul. 0\tIN\tSRV\t1 1 9090 c1.node.dc2.consul."), "dig answers backend in dc2 from dc1")
                h.check(out.contains("\"backend\": \"backend-dc2\""), "a prediction came from dc2's backend through the upstream port")
                let shown = out.split(separator: "\n").filter { $0.contains("#prediction: Prediction: ") }
                h.check(shown.count == 3, "Chromium loaded the page 3 times and saw a prediction each time: \(shown)")
                // Everything the demo created is gone.
                let namespaces = try h.run("/bin/sh", ["-c", "ip netns list | grep '^fdt\(getpid())' || true"], label: "ip netns list")
                h.check(namespaces.stdout.isEmpty, "no namespace left: \(namespaces.stdout)")
            }
        }
    }
}
