import Agent
import CSystem
import Glibc
import HTTPAPI

/// `fedagent watch -type T [options] [handler]`, as `consul watch`: a
/// blocking query loop over one view (services, nodes, a service's
/// health, checks, events) that runs the handler with the answer's JSON
/// on stdin, and `CONSUL_INDEX` in its environment, each time the
/// answer's index moves. Without a handler the answer is printed once.
enum WatchCommand {
    static let synopsis = "Watches for changes in a view of the catalog or events"
    static let specs = AgentClient.flagSpecs + [
        .init("type", .string, "What to watch: services, nodes, service, checks, event (key and keyprefix: with the KV store)."),
        .init("key", .string, "Key to watch (-type key; needs the KV store)."),
        .init("prefix", .string, "Key prefix to watch (-type keyprefix; needs the KV store)."),
        .init("service", .string, "Service to watch (-type service; -type checks: its checks)."),
        .init("tag", .list, "Only instances with this tag (-type service; repeatable)."),
        .init("passingonly", .bool, "Only instances whose checks pass (-type service)."),
        .init("state", .string, "Only checks in this state (-type checks): any, passing, warning, critical."),
        .init("name", .string, "Event name (-type event; all events when not given)."),
        .init("datacenter", .string, "Datacenter to watch (default: the agent's)."),
        .init("stale", .bool, "Let a server answer from its replica without the leader (the default here)."),
        .init("shell", .bool, "Run the handler with /bin/sh -c (default true; -shell=false executes it directly)."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent watch [options] [handler]", synopsis: synopsis,
                             stopAtPositional: true) { client, flags in
            let path = try viewPath(flags)
            let handler = flags.positional
            guard !handler.isEmpty else {
                let body = try client.call("GET", path + (path.contains("?") ? "&" : "?") + "pretty")
                var out = body
                if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
                _ = out.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                return
            }
            signal(SIGPIPE, SIG_IGN)  // a handler that does not read its stdin must not end us
            let shell = flags.string("shell").map { $0 == "true" } ?? true
            let argv = shell ? ["/bin/sh", "-c", handler.joined(separator: " ")] : handler
            watch(client, path) { index, body in
                let status = runHandler(argv, input: body + [UInt8(ascii: "\n")], index: index)
                if status != 0 { printError("watch: handler exited with status \(status)") }
            }
        }
    }

    /// The blocking read a watch type stands for (Consul's watch plans).
    static func viewPath(_ flags: CommandLineFlags) throws(AgentClient.Failure) -> String {
        var query: [String] = []
        if let dc = flags.string("datacenter"), !dc.isEmpty { query.append("dc=" + pathEscape(dc)) }
        if flags.bool("stale") { query.append("stale") }
        let path: String
        switch flags.string("type") ?? "" {
        case "":
            throw AgentClient.Failure(description: "Watch type must be specified")
        case "services": path = "/v1/catalog/services"
        case "nodes": path = "/v1/catalog/nodes"
        case "service":
            guard let service = flags.string("service"), !service.isEmpty else {
                throw AgentClient.Failure(description: "Must specify a single service to watch")
            }
            path = "/v1/health/service/" + pathEscape(service)
            query += flags.list("tag").map { "tag=" + pathEscape($0) }
            if flags.bool("passingonly") { query.append("passing") }
        case "checks":
            let service = flags.string("service") ?? "", state = flags.string("state") ?? ""
            guard service.isEmpty || state.isEmpty else {
                throw AgentClient.Failure(description: "Cannot specify service and state")
            }
            path = service.isEmpty ? "/v1/health/state/" + pathEscape(state.isEmpty ? "any" : state)
                                   : "/v1/health/checks/" + pathEscape(service)
        case "event":
            path = "/v1/event/list"
            if let name = flags.string("name"), !name.isEmpty { query.append("name=" + pathEscape(name)) }
        case "key", "keyprefix":
            throw AgentClient.Failure(description: "Watch type \"\(flags.string("type") ?? "")\" needs the KV store, which fedagent does not have yet")
        case let other:
            throw AgentClient.Failure(description: "Unsupported watch type: \(other)")
        }
        return query.isEmpty ? path : path + "?" + query.joined(separator: "&")
    }

    /// Blocks on `path` forever, calling `changed` with each new index and
    /// its answer: the first answer, then whenever the index moves. An
    /// index that goes back (a restarted agent) starts over; errors are
    /// retried after a pause that grows to 20 s, as Consul's watch does.
    static func watch(_ client: AgentClient, _ path: String, changed: (UInt64, [UInt8]) -> Void) -> Never {
        var last: UInt64 = 0
        var failures = 0
        let join = path.contains("?") ? "&" : "?"
        while true {
            let target = last == 0 ? path : path + join + "index=\(last)&wait=5m"
            let answer: (headers: HTTPHeaders, body: [UInt8])
            do {
                answer = try client.exchange("GET", target, timeout: 360)
            } catch {
                failures += 1
                printError("watch: \(error)")
                sleep(UInt32(min(failures * 5, 20)))
                continue
            }
            failures = 0
            let index = UInt64(answer.headers["X-Consul-Index"] ?? "") ?? 0
            if index < last { last = 0 }
            guard index != last else { continue }
            last = index
            changed(index, answer.body)
        }
    }

    /// Runs the handler to its end with `input` on its stdin; its exit status.
    static func runHandler(_ argv: [String], input: [UInt8], index: UInt64) -> Int32 {
        var fds: [Int32] = [0, 0]
        guard csystem_pipe_cloexec(&fds) == 0 else {
            printError("watch: cannot create a pipe: \(String(cString: strerror(errno)))")
            return -1
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)  // ignored here, not in the handler
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var env: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            if strncmp(entry, "CONSUL_INDEX=", 13) != 0 { env.append(strdup(entry)) }
            e += 1
        }
        env += [strdup("CONSUL_INDEX=\(index)"), nil]
        defer { for p in args + env { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, &attributes, &args, &env)
        close(fds[0])
        guard spawned == 0 else {
            close(fds[1])
            printError("watch: cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
            return -1
        }
        var sent = 0
        while sent < input.count {
            let n = input[sent...].withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }  // the handler closed its stdin
            sent += n
        }
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
