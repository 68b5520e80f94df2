import CSystem
import Glibc
import Synchronization

public struct TimerID: Hashable, Sendable { let raw: UInt64 }

/// A single-threaded readiness loop (epoll) with timers. It runs on its own
/// thread, never on Swift's cooperative pool. Handlers and timers run on
/// the loop thread; other threads hand work in with `execute`.
///
/// Registration methods MUST be called on the loop thread.
public final class EventLoop: @unchecked Sendable {
    public typealias IOHandler = (_ events: UInt32) -> Void

    private let epollFD: Int32
    private let wakeFD: Int32
    /// By fd, with the registration's number: epoll reports it back, so an
    /// event queued for a closed fd is not handed to a new registration
    /// that reused the number within the same batch.
    private var handlers: [Int32: (registration: UInt32, handler: IOHandler)] = [:]
    private var nextRegistration: UInt32 = 1
    private var timers = TimedQueue<UInt64>()
    private var timerCallbacks: [UInt64: () -> Void] = [:]
    private var nextTimerID: UInt64 = 1
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private let stopped = Atomic<Bool>(false)
    /// One read buffer for every connection of this loop: handlers run one
    /// at a time, so they can share it (no allocation per read).
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    /// Where TLS connections decrypt into and seal out of (`StreamSecurity`):
    /// separate from `readBuffer`, which still holds the ciphertext read.
    let plaintextBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    let cipherBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    public static let readable: UInt32 = csystem_epollin()
    public static let writable: UInt32 = csystem_epollout()
    public static let failed: UInt32 = csystem_epollerr()

    public init() throws(SocketError) {
        epollFD = csystem_epoll_create()
        guard epollFD >= 0 else { throw SocketError("epoll_create1") }
        wakeFD = csystem_eventfd()
        guard wakeFD >= 0 else { throw SocketError("eventfd") }
        var ev = epoll_event()
        ev.events = EventLoop.readable
        ev.data.u64 = Self.token(wakeFD, registration: 0)
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &ev)
    }

    deinit {
        readBuffer.deallocate()
        plaintextBuffer.deallocate()
        cipherBuffer.deallocate()
        close(epollFD)
        close(wakeFD)
    }

    /// Starts a dedicated thread running this loop.
    public static func startThread() throws -> EventLoop {
        let loop = try EventLoop()
        let box = Unmanaged.passRetained(loop)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let loop = Unmanaged<EventLoop>.fromOpaque(raw).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw SocketError("pthread_create", errno: rc)
        }
        pthread_detach(thread)
        return loop
    }

    public func now() -> Instant { Instant.monotonicNow() }

    /// Thread-safe: queue `work` to run on the loop thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(work) }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        execute {}
    }

    public func register(_ fd: Int32, events: UInt32, handler: @escaping IOHandler) {
        let registration = nextRegistration
        nextRegistration = nextRegistration == .max ? 1 : nextRegistration + 1
        handlers[fd] = (registration, handler)
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = Self.token(fd, registration: registration)
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev)
    }

    public func modify(_ fd: Int32, events: UInt32) {
        guard let registration = handlers[fd]?.registration else { return }
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = Self.token(fd, registration: registration)
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev)
    }

    private static func token(_ fd: Int32, registration: UInt32) -> UInt64 {
        UInt64(registration) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    public func deregister(_ fd: Int32) {
        handlers[fd] = nil
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping () -> Void) -> TimerID {
        let id = nextTimerID
        nextTimerID += 1
        timerCallbacks[id] = callback
        timers.push(now() + delay, id)
        return TimerID(raw: id)
    }

    public func cancel(_ timer: TimerID) { timerCallbacks[timer.raw] = nil }

    /// Runs until `stop()`. Blocks the calling thread.
    public func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while !stopped.load(ordering: .acquiring) {
            let timeout = millisecondsUntilNextTimer()
            let n = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeout)
            }
            if n > 0 {
                for i in 0..<Int(n) {
                    let token = events[i].data.u64
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                        continue
                    }
                    guard let entry = handlers[fd], entry.registration == UInt32(token >> 32) else { continue }
                    entry.handler(events[i].events)
                }
            }
            drainInbox()
            fireDueTimers()
        }
        // Handlers and timers capture the connections that hold this loop:
        // dropped here, a stopped loop and what it served can be freed.
        let released = (handlers, timerCallbacks, inbox.withLock { queue in defer { queue = [] }; return queue })
        handlers = [:]
        timerCallbacks = [:]
        timers = TimedQueue()
        withExtendedLifetime(released) {}
    }

    private func drainInbox() {
        let work = inbox.withLock { queue -> [@Sendable () -> Void] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work { item() }
    }

    private func fireDueTimers() {
        let current = now()
        while let top = timers.peek(), top.deadline <= current {
            timers.pop()
            if let callback = timerCallbacks.removeValue(forKey: top.payload) { callback() }
        }
    }

    private func millisecondsUntilNextTimer() -> Int32 {
        while let top = timers.peek(), timerCallbacks[top.payload] == nil { timers.pop() }
        guard let top = timers.peek() else { return 1000 }
        let current = now()
        if top.deadline <= current { return 0 }
        let ms = (top.deadline.nanoseconds - current.nanoseconds + 999_999) / 1_000_000
        return Int32(min(ms, 1000))
    }
}
