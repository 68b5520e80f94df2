// The command line's error paths, without agents.

import Testing

extension Integration {
    @Suite("Command line")
    struct CommandLine {
        @Test("`agent` with an unknown flag exits non-zero with a one-line error on stderr")
        func unknownAgentFlag() throws {
            try Harness.run("cli-flags") { h in
                let result = try h.fedagent(["agent", "-bogus"])
                h.check(result.status != .exited(0), "`agent -bogus` should fail: \(result)")
                let lines = result.stderr.split(separator: "\n").filter { !String($0).trimmingSpaces.isEmpty }
                h.check(lines.count == 1 && result.stderr.contains("bogus"),
                        "`agent -bogus` should print one error line naming the flag on stderr: \(result)")
            }
        }

        @Test("`members` exits 1 with an error when no agent is listening")
        func membersWithoutAgent() throws {
            try Harness.run("cli-unreachable") { h in
                let result = try h.fedagent(["members", "-http-addr", "127.0.0.1:1"])
                h.check(result.status == .exited(1), "`members -http-addr 127.0.0.1:1` should exit 1: \(result)")
                h.check(!result.stderr.trimmingSpaces.isEmpty, "`members` should say why on stderr: \(result)")
            }
        }

        @Test("`version` exits 0 and prints a version")
        func version() throws {
            try Harness.run("cli-version") { h in
                let result = try h.fedagent(["version"])
                h.check(result.status == .exited(0) && !result.stdout.trimmingSpaces.isEmpty,
                        "`version` should exit 0 and print something: \(result)")
            }
        }
    }
}
