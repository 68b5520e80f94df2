import Dispatch
import Glibc
import Sockets

/// `-retry-join`: resolves the addresses (names through the system
/// resolver, off the loop thread) and tries to join until one attempt
/// succeeds, backing off from 1 s to 30 s between attempts.
///
/// After joining it keeps watching: when `isolated` says the agent has lost
/// the pool (in Kubernetes, every server pod re-created at new addresses,
/// so gossip has no old address left to reach), it resolves the names
/// again and joins those that are not already alive members (`alive`): a
/// pool without servers whose names resolve to its own members is not
/// joined again every period. Serf's reconnect only retries old addresses.
final class RetryJoiner {
    typealias Attempt = (_ endpoints: [Endpoint], _ done: @escaping (Bool) -> Void) -> Void

    private let addresses: [String]
    private let defaultPort: UInt16
    private let loop: EventLoop
    private let attempt: Attempt
    private let isolated: () -> Bool
    private let alive: (Endpoint) -> Bool
    private let watchInterval: Duration
    private var delay: Duration = .seconds(1)
    private var stopped = false
    private var attempts = 0
    /// Joined once: later attempts skip addresses of alive members.
    private var rejoining = false

    init(addresses: [String], defaultPort: UInt16, loop: EventLoop, watchInterval: Duration = .seconds(15),
         isolated: @escaping () -> Bool = { false }, alive: @escaping (Endpoint) -> Bool = { _ in false },
         attempt: @escaping Attempt) {
        self.addresses = addresses
        self.defaultPort = defaultPort
        self.loop = loop
        self.watchInterval = watchInterval
        self.isolated = isolated
        self.alive = alive
        self.attempt = attempt
    }

    func start() { tryOnce() }
    func stop() { stopped = true }

    private func tryOnce() {
        guard !stopped else { return }
        attempts += 1
        let addresses = self.addresses, port = defaultPort
        let loop = self.loop
        let box = UncheckedBox(self)
        DispatchQueue.global().async {
            let endpoints = addresses.flatMap { Resolver.endpoints(for: $0, defaultPort: port) }
            loop.execute { box.value.attemptJoin(endpoints) }
        }
    }

    private func attemptJoin(_ resolved: [Endpoint]) {
        guard !stopped else { return }
        let endpoints = rejoining ? resolved.filter { !alive($0) } : resolved
        if rejoining && endpoints.isEmpty && !resolved.isEmpty {
            Log.debug("agent", "retry-join: \(addresses) resolve only to alive members; watching")
            attempts = 0
            return watch()
        }
        if rejoining && attempts == 1 {
            Log.warn("agent", "retry-join: no live peer left in the pool; joining \(addresses) again")
        }
        guard !endpoints.isEmpty else {
            Log.warn("agent", "retry-join: no address could be resolved from \(addresses); retrying in \(delay)")
            return scheduleRetry()
        }
        attempt(endpoints) { [self] ok in
            if ok {
                Log.info("agent", "retry-join: joined after \(attempts) attempt(s)")
                attempts = 0
                delay = .seconds(1)
                rejoining = true
                watch()
            } else {
                Log.warn("agent", "retry-join: attempt \(attempts) failed; retrying in \(delay)")
                scheduleRetry()
            }
        }
    }

    private func watch() {
        loop.schedule(after: watchInterval) { [self] in
            guard !stopped else { return }
            if isolated() {
                tryOnce()
            } else {
                watch()
            }
        }
    }

    private func scheduleRetry() {
        let wait = delay
        delay = min(delay * 2, .seconds(30))
        loop.schedule(after: wait) { [self] in tryOnce() }
    }
}

/// Carries a loop-confined object across a thread hop that comes back to the loop.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

enum Resolver {
    /// "ip", "ip:port", "[v6]:port", "host" or "host:port" to endpoints.
    /// Blocking (getaddrinfo): MUST NOT run on the event loop thread.
    static func endpoints(for text: String, defaultPort: UInt16) -> [Endpoint] {
        if let e = Endpoint(parsing: text, defaultPort: defaultPort) { return [e] }
        var host = Substring(text), port = defaultPort
        if let colon = text.lastIndex(of: ":"), let p = UInt16(text[text.index(after: colon)...]) {
            host = text[..<colon]
            port = p
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(String(host), nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(result) }
        var out: [Endpoint] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ai_next }
            guard let addr = entry.pointee.ai_addr else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: Int(entry.pointee.ai_addrlen)))
            }
            if var e = Endpoint(sockaddrStorage: storage) {
                e.port = port
                if !out.contains(e) { out.append(e) }
            }
        }
        return out
    }
}
