// Child processes for the integration tests: posix_spawn with output sent to
// files, exit statuses, signals and bounded waits. Plain Glibc, synchronous;
// everything here runs on the calling test's thread.

import Glibc

/// How a child ended, decoded from a `waitpid` status word (the W* macros
/// are not importable into Swift).
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
}

enum Spawn {
    /// When present, children are started under `setpriv --pdeathsig KILL`
    /// (which execs them, so the PID is the program's): if the test process
    /// dies without tearing down, its agents die with it. (The signal fires
    /// when the spawning *thread* ends; the harness spawns from a synchronous
    /// test body, whose thread outlives every agent it starts.)
    static let setprivPath = "/usr/bin/setpriv"

    /// Starts `path` with `arguments`. stdin is /dev/null; stdout and stderr
    /// are appended to the given files (the same file for both is fine).
    /// The child gets default signal dispositions and an empty signal mask,
    /// as it would from a shell. (The harness opens its own descriptors with
    /// O_CLOEXEC; `addclosefrom_np` is not visible without _GNU_SOURCE.)
    static func start(
        _ path: String, _ arguments: [String], environment: [String],
        stdoutPath: String, stderrPath: String
    ) throws(SpawnError) -> pid_t {
        var argv = [path] + arguments
        var program = path
        if access(setprivPath, X_OK) == 0 {
            argv = [setprivPath, "--pdeathsig", "KILL", "--"] + argv
            program = setprivPath
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | O_APPEND  // no O_CLOEXEC: these become 0, 1, 2
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, flags, 0o644)
        if stderrPath == stdoutPath {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, flags, 0o644)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw SpawnError(description: "posix_spawn \(program): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits up to `timeout` seconds for `pid` to exit and reaps it; nil if
    /// it is still running then.
    static func wait(_ pid: pid_t, timeout: Double) -> ExitStatus? {
        let deadline = Clock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return ExitStatus(waitStatus: status) }
            if result < 0 && errno != EINTR { return .exited(-1) }  // not our child (already reaped)
            if Clock.now >= deadline { return nil }
            usleep(20_000)
        }
    }

    /// SIGTERM (unless `graceful` is false), up to `grace` seconds to exit,
    /// then SIGKILL; always reaps.
    @discardableResult
    static func stop(_ pid: pid_t, graceful: Bool = true, grace: Double = 5) -> ExitStatus {
        if graceful {
            kill(pid, SIGTERM)
            if let status = wait(pid, timeout: grace) { return status }
        }
        kill(pid, SIGKILL)
        return wait(pid, timeout: 30) ?? .signaled(SIGKILL)
    }

    /// This process's environment (as it started) without the variables that
    /// would point client commands at some other agent, plus `extra`.
    static func environment(adding extra: [String] = []) -> [String] {
        let dropped = ["FEDAGENT_HTTP_ADDR=", "CONSUL_HTTP_ADDR="]
        let inherited = FileIO.read("/proc/self/environ")
            .split(separator: 0)
            .map { String(decoding: $0, as: UTF8.self) }
            .filter { entry in !dropped.contains(where: { entry.hasPrefix($0) }) }
        return inherited + extra
    }
}

/// The result of running a short-lived command to completion.
struct CommandResult: CustomStringConvertible {
    let status: ExitStatus
    let stdout: String
    let stderr: String

    var description: String {
        "\(status)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}

/// Monotonic seconds.
enum Clock {
    static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Small file helpers (no Foundation).
enum FileIO {
    /// The whole file, or [] if it cannot be read.
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                result.append(contentsOf: buffer[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return result
            }
        }
    }

    static func readText(_ path: String) -> String {
        String(decoding: read(path), as: UTF8.self)
    }

    /// Appends `text` to the file, creating it.
    static func append(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func makeDirectory(_ path: String) {
        _ = mkdir(path, 0o755)
    }

    static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }
}
