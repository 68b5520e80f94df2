// The container image, built offline the way users build it here
// (docker/build.sh: a clean static release build on the host, then podman
// from Containerfile): it runs as user 10001 without a shell, answers
// `fedagent version`, stays within 20 MB, and an agent in it becomes ready
// by `fedagent probe -ready`, its own exec probe. Every container and image
// the test makes is removed, also on failure.

import Glibc
import TestSupport
import Testing

extension Integration {
    @Suite("Container image")
    struct ContainerImage {
        static let root = Harness.repositoryRoot

        @Test("docker/build.sh builds the image offline: non-root, no shell, `fedagent version`, at most 20 MB; an agent in it is live and then ready by its own exec probe")
        func image() throws {
            try Harness.run("image") { h in
                guard getuid() == 0, let podman = NetnsLab.findProgram("podman") else {
                    h.check(false, "the image test needs root and podman (scripts/test.sh installs podman, runc, catatonit, iptables)")
                    return
                }
                let conf = ["CONTAINERS_CONF=\(Self.root)/docker/containers.conf"]
                let image = "localhost/fedagent-test-\(getpid()):latest"
                let container = "fedagent-test-\(getpid())"
                let scratch = h.directory + "/build"
                h.onTeardown {
                    _ = NetnsLab.capture("/usr/bin/env", conf + [podman, "rm", "-f", "--volumes", container])  // and its anonymous /data
                    _ = NetnsLab.capture("/usr/bin/env", conf + [podman, "rmi", "-f", image])
                    // SwiftPM keeps its locks for a scratch path in /tmp, named after it.
                    let prefix = scratch.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_")
                    for name in directoryEntries("/tmp") where name.hasPrefix(prefix) { unlink("/tmp/" + name) }
                }
                let build = try h.run(Self.root + "/docker/build.sh", [image], label: "docker/build.sh",
                                      environment: conf + ["SCRATCH=\(scratch)"], timeout: 1500)
                guard h.check(build.status == .exited(0) && build.stdout.hasSuffix(image + "\n"), "docker/build.sh: \(build)") else { return }
                func podmanRun(_ args: [String]) throws -> CommandResult {
                    try h.run(podman, args, label: "podman", environment: conf, timeout: 120)
                }
                let inspect = try podmanRun(["image", "inspect", image, "--format", "{{.Size}} {{.Config.User}} {{index .Config.Entrypoint 0}}"])
                let fields = inspect.stdout.split(separator: " ").map { $0.split(separator: "\n").first.map(String.init) ?? "" }
                h.check(fields.count == 3 && (Int(fields[0]) ?? .max) <= 20_000_000, "the image should be at most 20 MB: \(inspect.stdout)")
                h.check(fields.count == 3 && fields[1] == "10001:10001" && fields[2] == "/usr/bin/fedagent", "user and entrypoint: \(inspect.stdout)")
                let version = try podmanRun(["run", "--rm", image, "version"])
                h.check(version.status == .exited(0) && version.stdout.hasPrefix("fedagent v"), "fedagent version in the image: \(version)")
                let shell = try podmanRun(["run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true"])
                h.check(shell.status != .exited(0), "the image has a shell: \(shell)")

                // An agent in it (data in /data as its own user), live at once, then ready.
                let started = try podmanRun(["run", "-d", "--name", container, "--network", "none", image,
                                             "agent", "-server", "-node", "img1", "-bind", "127.0.0.1", "-data-dir", "/data"])
                guard h.check(started.status == .exited(0), "starting the agent container: \(started)") else { return }
                try h.eventually("the agent in the container is ready by `fedagent probe -ready`") {
                    let r = try podmanRun(["exec", container, "/usr/bin/fedagent", "probe", "-ready"])
                    return (r.status == .exited(0), "\(r.status) \(r.stderr)")
                }
                let live = try podmanRun(["exec", container, "/usr/bin/fedagent", "probe", "-live"])
                h.check(live.status == .exited(0), "probe -live: \(live)")
                let user = try podmanRun(["top", container, "huser"])
                h.check(user.stdout.contains("10001"), "the agent should run as 10001: \(user.stdout)")
                let nodeID = try podmanRun(["exec", container, "/usr/bin/fedagent", "info"])
                h.check(nodeID.status == .exited(0) && nodeID.stdout.contains("version = "), "fedagent info in the container: \(nodeID)")
            }
        }
    }
}
