@testable import DNSServer
import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// A DNS-over-TCP client that pipelines queries and never reads: the
/// server stops reading it once about 256 KiB of answers wait, instead of
/// answering (and queuing) everything it sent; reading resumes as the
/// client reads, and every query is answered.
@Suite struct DNSTCPFlowTests {
    final class Box: @unchecked Sendable { var server: DNSServer? }

    @Test func aClientThatNeverReadsIsNotReadEither() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let counters = DNSCounters()
        let bound = Mutex<Endpoint?>(nil)
        loop.execute {
            box.server = try? DNSServer(bind: Endpoint(ipv4: 127, 0, 0, 1, port: 0), settings: DNSResponderSettings(), recursors: [],
                                        recursorTimeout: .milliseconds(300), holder: DNSSnapshotHolder(), loop: loop, counters: counters)
            bound.withLock { $0 = box.server?.endpoint }
        }
        #expect(waitUntil { bound.withLock { $0 } != nil })
        defer { loop.execute { box.server?.close() } }
        let server = try #require(bound.withLock { $0 })
        let count = 400_000
        var stream: [UInt8] = []
        for i in 0..<count {
            let query = DNSMessage(header: DNSHeader(id: UInt16(i & 0xffff)), questions: [DNSQuestion(name: DNSName("web.service.consul")!, type: .a)])
            stream += DNSServer.framed(query.encode().bytes)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        // Keep what the kernel buffers for us small next to what is asked.
        var small: Int32 = 64 << 10
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc == 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let writer = Thread { [stream] in
            var sent = 0
            while sent < stream.count {
                let n = stream[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
        // Until the server stops answering for lack of a reader.
        var last = -1
        _ = waitUntil(30) {
            usleep(300_000)
            let now = counters.queries.load(ordering: .relaxed)
            defer { last = now }
            return now == last
        }
        let answeredUnread = counters.queries.load(ordering: .relaxed)
        #expect(answeredUnread < count / 4, "\(answeredUnread) of \(count) queries answered while the client read nothing")
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var received = 0
        var answers = 0
        var carry: [UInt8] = []
        while answers < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += n
            carry += buffer[0..<n]
            var offset = 0
            while carry.count - offset >= 2 {
                let length = Int(carry[offset]) << 8 | Int(carry[offset + 1])
                guard carry.count - offset - 2 >= length else { break }
                offset += 2 + length
                answers += 1
            }
            carry.removeFirst(offset)
        }
        writer.join()
        #expect(answers == count, "\(answers) of \(count) answered once the client read (\(received) bytes)")
    }
}

/// A joinable thread for the test's writer.
final class Thread: @unchecked Sendable {
    private var handle: pthread_t?
    private let work: @Sendable () -> Void

    init(_ work: @escaping @Sendable () -> Void) {
        self.work = work
        let box = Unmanaged.passRetained(self).toOpaque()
        var h = pthread_t()
        if pthread_create(&h, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.work()
            return nil
        }, box) == 0 { handle = h } else { Unmanaged<Thread>.fromOpaque(box).release() }
    }

    func join() { if let handle { pthread_join(handle, nil) } }
}
