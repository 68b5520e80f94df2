// The Kubernetes manifests (deploy/kubernetes): `kubectl kustomize` renders
// the base and both overlays; every object is valid against the Kubernetes
// API schemas (kubernetes-validate, strict, 1.32); the IaC scanner checkov
// fails nothing that is not skipped in the manifest with a written reason;
// and python/manifest_check.py asserts what they must say (servers,
// gateways, probes, security contexts, the sidecar in each workload).

import Testing

extension Integration {
    @Suite("Kubernetes manifests")
    struct Manifests {
        static let root = Harness.repositoryRoot

        @Test("the base and the eks (dc1, frontend) and aks (dc2, backend) overlays render, validate against the API schemas, pass checkov, and say what they must")
        func manifests() throws {
            try Harness.run("manifests") { h in
                guard let kubectl = NetnsLab.findProgram("kubectl") else { throw h.fail("kubectl (with kustomize) is not installed") }
                guard let validate = NetnsLab.findProgram("kubernetes-validate"), let checkov = NetnsLab.findProgram("checkov") else {
                    throw h.fail("kubernetes-validate and checkov are needed (scripts/test.sh installs them from PyPI)")
                }
                let rendered = h.directory + "/rendered"
                FileIO.makeDirectory(rendered)
                let targets = [("base", nil, nil), ("overlays/eks", "dc1", "digits-frontend"), ("overlays/aks", "dc2", "digits-backend")]
                var files: [String] = []
                for (path, dc, workload) in targets {
                    let r = try h.run(kubectl, ["kustomize", Self.root + "/deploy/kubernetes/" + path], label: "kubectl kustomize")
                    guard h.check(r.status == .exited(0) && r.stdout.contains("kind: StatefulSet"), "kubectl kustomize \(path): \(r)") else { continue }
                    let file = rendered + "/" + path.split(separator: "/").joined(separator: "-") + ".yaml"
                    FileIO.append(file, r.stdout)
                    files.append(file)
                    let check = try h.run("/usr/bin/env", ["python3", Self.root + "/Tests/IntegrationTests/python/manifest_check.py", file]
                                          + [dc, workload].compactMap { $0 }, label: "manifest_check.py")
                    h.check(check.status == .exited(0), "\(path) does not say what it must:\n\(check.stdout)")
                }
                let schema = try h.run(validate, ["-k", "1.32.0", "--strict", "--quiet"] + files, label: "kubernetes-validate")
                h.check(schema.status == .exited(0) && !schema.stdout.contains("ERROR"), "kubernetes-validate: \(schema)")
                let scan = try h.run(checkov, ["-d", rendered, "--framework", "kubernetes", "--compact", "--quiet", "--skip-download"],
                                     label: "checkov", timeout: 300)
                h.check(scan.status == .exited(0) && scan.stdout.contains("Failed checks: 0"), "checkov: \(scan.stdout)\n\(scan.stderr.suffix(2000))")
                // Every skip carries its reason in the manifest.
                for file in files {
                    for line in FileIO.readText(file).split(separator: "\n") where line.contains("checkov.io/skip") {
                        h.check(line.split(separator: "=", maxSplits: 1).count == 2 && line.split(separator: "=").last!.count > 10,
                                "a checkov skip without a reason in \(file): \(line)")
                    }
                }
            }
        }
    }
}
