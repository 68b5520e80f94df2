import CSystem
import Dispatch
import Sockets

/// Gives freed heap memory back to the system once a minute. glibc keeps
/// what a burst of load allocated (buffers of 64 busy HTTP connections:
/// a sidecar stayed at 20 MB after a soak that started it at 9.6 MB)
/// until told; `malloc_trim` returns the free pages of every arena. It
/// takes the arenas' locks, so it runs on a queue of its own, not the loop.
enum MemoryTrim {
    private static let queue = DispatchQueue(label: "fedagent.memory-trim")

    static func schedule(on loop: EventLoop, every interval: Duration = .seconds(60)) {
        loop.schedule(after: interval) {
            queue.async { _ = csystem_malloc_trim() }
            schedule(on: loop, every: interval)
        }
    }
}
