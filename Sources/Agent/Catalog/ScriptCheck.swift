import CSystem
import Dispatch
import Glibc
import Sockets

extension CheckProbe {
    /// Runs on threads of their own: a script is waited for (`poll`,
    /// `waitpid`), which must never happen on the event loop.
    private static let scripts = DispatchQueue(label: "fedagent.script-checks", attributes: .concurrent)

    /// A script check (`Args`), as Consul runs it: the program is executed
    /// directly (no shell) with stdout and stderr captured together; exit
    /// 0 is passing, 1 warning, anything else critical; past the timeout
    /// it is killed and critical. Only the last `maxOutputBytes` of the
    /// output are kept, however much the script writes.
    public static func script(_ args: [String], timeout: Duration, timeoutText: String, loop: EventLoop,
                              completion: @escaping Completion) {
        guard !args.isEmpty else { return completion(.critical, "script check without Args") }
        let box = UncheckedBox(completion)
        scripts.async {
            let (status, output) = runScript(args, timeout: timeout, timeoutText: timeoutText)
            loop.execute { box.value(status, output) }
        }
    }

    /// Blocking: only on `scripts`' threads.
    static func runScript(_ args: [String], timeout: Duration, timeoutText: String) -> (Catalog.HealthStatus, String) {
        var fds: [Int32] = [0, 0]
        guard csystem_pipe_cloexec(&fds) == 0 else { return (.critical, "cannot create a pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The agent blocks its termination signals (they arrive through a
        // signalfd): the script starts with none blocked, in a process
        // group of its own, so that a timeout ends it and its children.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, args[0], &actions, &attributes, &argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return (.critical, "Check failed to start: exec: \"\(args[0])\": \(String(cString: strerror(spawned)))")
        }
        let limit = Catalog.maxOutputBytes - 64
        var tail: [UInt8] = []
        var total = 0
        var timedOut = false
        let deadline = Instant.monotonicNow() + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let now = Instant.monotonicNow()
            guard now < deadline else {
                timedOut = true
                break
            }
            var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let waitMillis = Int32(clamping: max(1, (deadline - now).nanoseconds / 1_000_000))
            let ready = poll(&pfd, 1, waitMillis)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }  // EOF: the script (and whatever it started) closed its output
            total += n
            tail.append(contentsOf: buffer[0..<n])
            if tail.count > limit { tail.removeFirst(tail.count - limit) }
        }
        close(readEnd)
        if timedOut { kill(-pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { return (.critical, "Timed out (\(timeoutText)) running check") }
        var output = String(decoding: tail, as: UTF8.self)
        if total > tail.count { output = "Captured \(tail.count) of \(total) bytes\n...\n" + output }
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited else { return (.critical, "Check terminated by signal \(status & 0x7f)\n" + output) }
        switch code {
        case 0: return (.passing, output)
        case 1: return (.warning, output)
        default: return (.critical, output)
        }
    }
}
