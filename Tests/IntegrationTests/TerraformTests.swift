// deploy/terraform, not applied here (no cloud, no Terraform binary):
// every file parses with python-hcl2, the root modules say what they must
// (python/terraform_check.py), and checkov fails nothing that is not
// skipped in the code with a written reason.

import TestSupport
import Testing

extension Integration {
    @Suite("Terraform")
    struct Terraform {
        /// Where scripts/test.sh installs python-hcl2: apart, since checkov
        /// brings a parser of its own under the same module name.
        static let hclPath = Harness.repositoryRoot + "/.build-tools/python-hcl2"

        @Test("the eks, aks and fedagent root modules parse, say what they must, and pass checkov with only reasoned skips")
        func modules() throws {
            try Harness.run("terraform") { h in
                let root = Harness.repositoryRoot + "/deploy/terraform"
                guard let checkov = NetnsLab.findProgram("checkov") else { throw h.fail("checkov is needed (scripts/test.sh installs it)") }
                let parse = try h.run("/usr/bin/env", ["python3", Harness.repositoryRoot + "/Tests/IntegrationTests/python/terraform_check.py", root],
                                      label: "terraform_check.py", environment: ["PYTHONPATH=\(Self.hclPath)"])
                h.check(parse.status == .exited(0), "the modules do not parse or do not say what they must:\n\(parse)")
                let scan = try h.run(checkov, ["-d", root, "--framework", "terraform", "--compact", "--quiet", "--skip-download"],
                                     label: "checkov", timeout: 300)
                h.check(scan.status == .exited(0) && scan.stdout.contains("Failed checks: 0"), "checkov: \(scan.stdout)\n\(scan.stderr.suffix(2000))")
                for module in ["eks", "aks", "fedagent"] {
                    for name in directoryEntries(root + "/" + module) where name.hasSuffix(".tf") {
                        for line in FileIO.readText("\(root)/\(module)/\(name)").split(separator: "\n") where line.contains("checkov:skip=") {
                            let parts = line.split(separator: ":", maxSplits: 2)
                            h.check(parts.count == 3 && parts[2].count > 20, "a checkov skip without a reason in \(module)/\(name): \(line)")
                        }
                    }
                }
            }
        }
    }
}
