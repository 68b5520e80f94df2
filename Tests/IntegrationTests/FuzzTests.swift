// Coverage-guided fuzzing in the suite: scripts/fuzz.sh builds every
// libFuzzer target of Fuzz/ (instrumented, in .build-fuzz) and fuzzes each
// for a few seconds from its seed corpus and kept findings. Every decoder
// of untrusted bytes must have a target, every target must run, none may
// crash. The long runs are bench/fuzz.sh.

import Testing

extension Integration {
    @Suite("Fuzz targets")
    struct FuzzTests {
        /// The decoders that read untrusted bytes, by target: gossip packets,
        /// push/pull state, catalog records, RPC frames, DNS messages, HTTP
        /// requests and chunked bodies, JSON, configuration files, filter
        /// expressions, encrypted packets (and what they carry).
        static let required: Set<String> = [
            "GossipPacket", "GossipPushPull", "CatalogPushPull", "CatalogRecord", "RPCFrame", "DNSMessage",
            "HTTPRequest", "HTTPChunked", "HTTPResponse", "JSON", "ConfigFile", "Filter", "ACLRules", "SealedPacket",
        ]

        @Test("scripts/fuzz.sh -seconds 5: every decoder's target runs from its corpus and none crashes")
        func everyTargetRunsCleanly() throws {
            try Harness.run("fuzz") { h in
                let script = Harness.repositoryRoot + "/scripts/fuzz.sh"
                let list = try h.run("/bin/bash", [script, "-list"], label: "fuzz.sh -list")
                let targets = Set(list.stdout.split(separator: "\n").map(String.init))
                h.check(Self.required.isSubset(of: targets), "targets missing: \(Self.required.subtracting(targets).sorted())")

                // The build apart, with room for waiting on the shared build
                // lock; the fuzzing itself takes 14 targets x 5 s.
                let build = try h.run("/bin/bash", [script, "-build"], label: "fuzz.sh -build", timeout: 2400)
                guard h.check(build.status == .exited(0), "fuzz.sh -build: \(build.status)\n\(build.stderr.suffix(4000))") else { return }
                let run = try h.run("/bin/bash", [script, "-no-build", "-seconds", "5"], label: "fuzz.sh -seconds 5", timeout: 600)
                h.check(run.status == .exited(0), "fuzz.sh: \(run.status)\n\(run.stdout)\n\(run.stderr.suffix(4000))")
                var reported: [String: (execs: Int, crashes: Int)] = [:]
                for line in run.stdout.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    guard fields.count == 3, fields[1].hasPrefix("execs="), fields[2].hasPrefix("crashes="),
                          let execs = Int(fields[1].dropFirst(6)), let crashes = Int(fields[2].dropFirst(8)) else {
                        h.check(false, "not a `NAME execs=E crashes=C` line: \(line)")
                        continue
                    }
                    h.check(reported[String(fields[0])] == nil, "\(fields[0]) reported twice")
                    reported[String(fields[0])] = (execs, crashes)
                }
                h.check(Set(reported.keys) == targets, "reported \(reported.keys.sorted()), targets \(targets.sorted())")
                for (name, figures) in reported.sorted(by: { $0.key < $1.key }) {
                    h.check(figures.execs > 0, "\(name) ran no input")
                    h.check(figures.crashes == 0, "\(name) crashed \(figures.crashes) time(s); the inputs are in .build-fuzz/crashes/\(name)/")
                }
            }
        }
    }
}
