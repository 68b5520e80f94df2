import Dispatch
import Glibc
import Sockets

/// One piece of state in the data directory, written off the event loop
/// by group commit: changes made on the loop are appended to a journal
/// (`<path>.journal`: length, CRC-32, entry) or, for state that is small or
/// changed wholesale, mark the snapshot (`<path>`, written whole: write,
/// fsync, rename) dirty. One background write then carries every change
/// made since the last one began, with one fsync; `whenDurable` runs its
/// callback once the changes made before it are on disk. When the journal
/// outgrows the snapshot it is folded into a fresh snapshot, so a write
/// costs the change, not the size of the state. A failed write (a full
/// disk) is logged, answered as failed, and retried every second with a
/// whole snapshot until it succeeds. Loop-confined.
public final class DurableStore {
    public typealias Done = (_ failure: String?) -> Void

    public let path: String
    public var journalPath: String { path + ".journal" }
    private let loop: EventLoop
    private let queue: DispatchQueue
    private let disk: Disk
    private let makeSnapshot: () -> [UInt8]
    /// The journal is folded into a snapshot past this size (or the last snapshot's, if larger).
    private let compactAfter: Int
    private let what: String

    private var frames: [UInt8] = []
    private var needsSnapshot = false
    /// A change has been made that no started write carries yet.
    private var pending = false
    private var writing = false
    private var waiting: [Done] = []
    private var inFlight: [Done] = []
    private var journalBytes = 0
    private var snapshotBytes = 0
    private var failing = false
    private var retryTimer: TimerID?
    /// Background writes begun (each one fsync or one snapshot): for tests and `Stats`.
    public private(set) var commits = 0

    /// Writes run in order on this queue, never on the loop.
    public static let writes = DispatchQueue(label: "fedagent.durable-writes")

    public init(path: String, what: String, loop: EventLoop, queue: DispatchQueue = DurableStore.writes,
                compactAfter: Int = 1 << 20, snapshot: @escaping () -> [UInt8]) {
        self.path = path
        self.what = what
        self.loop = loop
        self.queue = queue
        self.compactAfter = compactAfter
        self.makeSnapshot = snapshot
        disk = Disk(path: path)
    }

    /// What a load found: the snapshot's bytes (nil without one), then the
    /// journal's entries in order. A torn or corrupt journal tail (a write
    /// never acknowledged) is cut off and said in `problem`.
    public struct Loaded: Sendable {
        public var snapshot: [UInt8]?
        public var entries: [[UInt8]]
        public var problem: String?
    }

    /// Reads what an earlier run wrote. Call once, before any change; the
    /// next write is a fresh snapshot when the journal held anything.
    public func load(limit: Int) -> Loaded {
        let snapshot = DataFile.read(path, limit: limit)
        snapshotBytes = snapshot?.count ?? 0
        guard let journal = DataFile.read(journalPath, limit: limit) else {
            if access(journalPath, F_OK) == 0 {
                needsSnapshot = true
                return Loaded(snapshot: snapshot, entries: [], problem: "\(journalPath) is larger than \(limit) bytes: ignored")
            }
            return Loaded(snapshot: snapshot, entries: [], problem: nil)
        }
        let (entries, goodBytes) = Self.entries(in: journal)
        var problem: String?
        if goodBytes < journal.count {
            problem = "\(journalPath): \(journal.count - goodBytes) bytes after offset \(goodBytes) are torn or corrupt and were dropped"
        }
        if !journal.isEmpty { needsSnapshot = true }
        return Loaded(snapshot: snapshot, entries: entries, problem: problem)
    }

    /// Records one change as a journal entry.
    public func append(_ entry: [UInt8]) {
        frames.append(contentsOf: Self.frame(entry))
        changed()
    }

    /// Records that the state changed in a way only a fresh snapshot carries.
    public func rewrite() {
        needsSnapshot = true
        changed()
    }

    /// Calls `done` on the loop once every change made before this call is
    /// durable (nil), or its write failed (the reason).
    public func whenDurable(_ done: @escaping Done) {
        if pending {
            waiting.append(done)
        } else if writing {
            inFlight.append(done)
        } else if failing {
            done("the data directory cannot be written")
        } else {
            done(nil)
        }
    }

    private func changed() {
        pending = true
        startIfIdle()
    }

    private func startIfIdle() {
        guard !writing, pending || needsSnapshot else { return }
        let folding = needsSnapshot || journalBytes + frames.count > max(compactAfter, snapshotBytes)
        let job: Disk.Job
        if folding {
            job = .snapshot(makeSnapshot())
            frames = []
        } else {
            job = .append(frames, after: journalBytes)
            frames = []
        }
        writing = true
        pending = false
        needsSnapshot = false
        inFlight = waiting
        waiting = []
        commits += 1
        let box = UncheckedBox(self)
        let disk = disk, loop = loop
        queue.async {
            let failure = disk.run(job)
            loop.execute { box.value.finished(job, failure) }
        }
    }

    private func finished(_ job: Disk.Job, _ failure: String?) {
        writing = false
        let done = inFlight
        inFlight = []
        if let failure {
            if !failing { Log.error("agent", "could not save \(what): \(failure); retrying every second") }
            failing = true
            // What the failed write carried is in memory only: the next
            // write must be a whole snapshot.
            needsSnapshot = true
            if retryTimer == nil {
                retryTimer = loop.schedule(after: .seconds(1)) { [weak self] in
                    guard let self else { return }
                    retryTimer = nil
                    startIfIdle()
                }
            }
        } else {
            if failing { Log.info("agent", "saving \(what) works again") }
            failing = false
            switch job {
            case .append(let bytes, let offset): journalBytes = offset + bytes.count
            case .snapshot(let bytes):
                snapshotBytes = bytes.count
                journalBytes = 0
            }
        }
        for callback in done { callback(failure) }
        if failure == nil { startIfIdle() }
    }

    // MARK: - Journal format

    static func frame(_ entry: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: entry.count + 8)
        w.u32(UInt32(entry.count))
        w.u32(CRC32.checksum(entry))
        w.bytes.append(contentsOf: entry)
        return w.bytes
    }

    /// The entries of a journal up to the first torn or corrupt frame, and
    /// how many bytes they span.
    static func entries(in journal: [UInt8]) -> ([[UInt8]], Int) {
        var reader = ByteReader(journal)
        var entries: [[UInt8]] = []
        var good = 0
        while !reader.isAtEnd {
            guard let length = try? reader.u32(), let sum = try? reader.u32(),
                  let entry = try? reader.take(Int(length)), CRC32.checksum(entry) == sum else { break }
            entries.append(entry)
            good = reader.offset
        }
        return (entries, good)
    }

    /// The files themselves, touched only on the write queue.
    final class Disk: @unchecked Sendable {
        enum Job {
            /// Frames appended at `after` (the journal's durable length).
            case append([UInt8], after: Int)
            case snapshot([UInt8])
        }

        let path: String
        private var journal: Int32 = -1

        init(path: String) { self.path = path }

        /// Nil when the job is durable, else why not.
        func run(_ job: Job) -> String? {
            switch job {
            case .snapshot(let bytes):
                do {
                    try DataFile.writeAtomically(path, bytes)
                } catch {
                    return error.description
                }
                // Every journal entry is in the snapshot now. The cut is
                // made durable: new frames written over old ones that
                // came back after a crash would replay out of order.
                if journal < 0 && access(path + ".journal", F_OK) != 0 { return nil }
                if let failure = openJournal() { return failure }
                guard ftruncate(journal, 0) == 0, fdatasync(journal) == 0 else {
                    return "truncate \(path).journal: \(String(cString: strerror(errno)))"
                }
                return nil
            case .append(let bytes, let offset):
                if let failure = openJournal() { return failure }
                if let failure = write(bytes, at: offset) {
                    // Leave no torn frame behind for the entries after it.
                    _ = ftruncate(journal, off_t(offset))
                    return failure
                }
                return nil
            }
        }

        private func openJournal() -> String? {
            guard journal < 0 else { return nil }
            let existed = access(path + ".journal", F_OK) == 0
            journal = open(path + ".journal", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            guard journal >= 0 else { return "open \(path).journal: \(String(cString: strerror(errno)))" }
            if !existed { DataFile.syncDirectory(of: path) }
            return nil
        }

        private func write(_ bytes: [UInt8], at offset: Int) -> String? {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { raw in
                    pwrite(journal, raw.baseAddress.map { $0 + done }, raw.count - done, off_t(offset + done))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return "write \(path).journal: \(String(cString: strerror(errno)))" }
                done += n
            }
            guard fdatasync(journal) == 0 else { return "fsync \(path).journal: \(String(cString: strerror(errno)))" }
            return nil
        }
    }
}

/// CRC-32 (IEEE 802.3, as zlib's): catches a torn or corrupt journal frame.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
