@testable import Agent
@testable import CatalogCore
import Dispatch
import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// Group commit: writes leave the loop, many changes share one fsync, a
/// callback means on disk, the journal folds into snapshots, a torn tail
/// is cut, and a failed write is retried until the disk works again.
@Suite struct DurableStoreTests {
    final class Box: @unchecked Sendable {
        var store: DurableStore?
        var state: [[UInt8]] = []
        var acknowledged = 0
        var failures: [String] = []
        var timerFired = false
        var commits = 0
    }

    private func entry(_ n: Int) -> [UInt8] { Array("entry-\(n)".utf8) }

    private func onLoop<T: Sendable>(_ loop: EventLoop, _ work: @escaping @Sendable () -> T) -> T? { loop.sync(work) }

    @Test func acknowledgedEntriesAreOnDiskAndManyChangesShareOneWriteWhileTheLoopRuns() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let queue = DispatchQueue(label: "test.durable")
        queue.suspend()  // the disk "stalls": nothing is written until resumed
        let box = Box()
        let path = dir.path + "/state"
        loop.execute {
            let store = DurableStore(path: path, what: "test", loop: loop, queue: queue) { [] }
            box.store = store
            for n in 0..<1000 {
                store.append(self.entry(n))
                store.whenDurable { failure in
                    if let failure { box.failures.append(failure) } else { box.acknowledged += 1 }
                }
            }
            _ = loop.schedule(after: .milliseconds(50)) { box.timerFired = true }
        }
        // The loop keeps serving while the disk stalls, and nothing is acknowledged.
        #expect(waitUntil { onLoop(loop) { box.timerFired } == true })
        #expect(onLoop(loop) { box.acknowledged } == 0)
        queue.resume()
        #expect(waitUntil { onLoop(loop) { box.acknowledged } == 1000 })
        #expect(onLoop(loop) { box.failures } == [])
        // The first change began a write at once; the other 999 shared the next.
        #expect(onLoop(loop) { box.store?.commits } == 2)
        let loaded = DurableStore(path: path, what: "test", loop: loop) { [] }.load(limit: 1 << 20)
        #expect(loaded.entries == (0..<1000).map(entry))
        #expect(loaded.snapshot == nil)
        #expect(loaded.problem == nil)
    }

    @Test func aTornOrCorruptTailIsCutOffAndSaidAndTheNextWriteIsAFreshSnapshot() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let path = dir.path + "/state"
        var journal = DurableStore.frame(entry(1)) + DurableStore.frame(entry(2))
        var corrupt = DurableStore.frame(entry(3))
        corrupt[corrupt.count - 1] ^= 0xff
        journal += corrupt + DurableStore.frame(entry(4))
        try DataFile.writeAtomically(path + ".journal", journal + [0, 0, 0])
        let box = Box()
        let loaded = onLoop(loop) { () -> DurableStore.Loaded in
            let store = DurableStore(path: path, what: "test", loop: loop) { Array("snapshot".utf8) }
            box.store = store
            return store.load(limit: 1 << 20)
        }
        #expect(loaded?.entries == [entry(1), entry(2)])
        #expect(loaded?.problem?.contains(path + ".journal") == true)
        loop.execute {
            box.store?.append(self.entry(5))
            box.store?.whenDurable { _ in box.acknowledged += 1 }
        }
        #expect(waitUntil { onLoop(loop) { box.acknowledged } == 1 })
        #expect(DataFile.read(path, limit: 1024) == Array("snapshot".utf8))
        #expect(DataFile.read(path + ".journal", limit: 1024) == [])
    }

    @Test func theJournalFoldsIntoASnapshotOnceItOutgrowsItSoWritesStaySmall() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let path = dir.path + "/state"
        let box = Box()
        let largestJournal = Mutex(0)
        @Sendable func step(_ n: Int) {
            guard n < 300 else { return }
            box.state.append(self.entry(n))
            box.store?.append(self.entry(n))
            box.store?.whenDurable { _ in
                // The journal may grow to the snapshot's size (or the bound), never past.
                let size = DataFile.read(path + ".journal", limit: 1 << 20)?.count ?? 0
                let snapshot = DataFile.read(path, limit: 1 << 20)?.count ?? 0
                largestJournal.withLock { $0 = max($0, size - max(512, snapshot)) }
                box.acknowledged += 1
                step(n + 1)
            }
        }
        loop.execute {
            box.store = DurableStore(path: path, what: "test", loop: loop, compactAfter: 512) {
                box.state.flatMap { $0 + [0x0a] }
            }
            step(0)
        }
        #expect(waitUntil { onLoop(loop) { box.acknowledged } == 300 })
        #expect(largestJournal.withLock { $0 } <= 32, "the journal was folded before growing past its bound")
        // The snapshot plus what the journal holds after it is the whole state.
        let loaded = DurableStore(path: path, what: "test", loop: loop) { [] }.load(limit: 1 << 20)
        let snapshotLines = (loaded.snapshot ?? []).split(separator: 0x0a).map(Array.init)
        #expect(!snapshotLines.isEmpty)
        #expect(snapshotLines + loaded.entries == (0..<300).map(entry))
        _ = loop.sync { box.store = nil }  // its snapshot closure holds the box
    }

    @Test func aFailedWriteIsAnsweredAsFailedAndRetriedUntilTheDirectoryWorks() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let missing = dir.path + "/later"
        let path = missing + "/state"
        let box = Box()
        loop.execute {
            box.store = DurableStore(path: path, what: "test", loop: loop) { Array("whole state".utf8) }
            box.store?.append(self.entry(1))
            box.store?.whenDurable { failure in if let failure { box.failures.append(failure) } else { box.acknowledged += 1 } }
        }
        #expect(waitUntil { onLoop(loop) { box.failures.count } == 1 })
        #expect(onLoop(loop) { box.acknowledged } == 0)
        // While failing, an idle store says so instead of claiming durability.
        let idle = Mutex<String??>(nil)
        loop.execute { box.store?.whenDurable { failure in idle.withLock { $0 = .some(failure) } } }
        #expect(waitUntil { idle.withLock { $0 != nil } })
        #expect(idle.withLock { $0 ?? nil } != nil)
        mkdir(missing, 0o700)
        // The retry writes the whole state as a snapshot.
        #expect(waitUntil { DataFile.read(path, limit: 1024) == Array("whole state".utf8) })
        loop.execute { box.store?.whenDurable { failure in if failure == nil { box.acknowledged += 1 } } }
        #expect(waitUntil { onLoop(loop) { box.acknowledged } == 1 })
        unlink(path); unlink(path + ".journal"); rmdir(missing)
    }
}
