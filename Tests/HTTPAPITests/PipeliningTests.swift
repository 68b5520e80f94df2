import Glibc
@testable import HTTPAPI
import Sockets
import Synchronization
import TestSupport
import Testing

/// Pipelined requests answered synchronously are served by a loop, not
/// by a call per request: thousands in one write neither exhaust the
/// loop thread's stack nor lose an answer.
@Suite struct PipeliningTests {
    @Test func thousandsOfPipelinedRequestsAreAllAnsweredInOrder() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        final class ServerBox: @unchecked Sendable { var server: HTTPServer? }
        let holder = ServerBox()
        let port = Mutex<UInt16?>(nil)
        // Where the handler's frame sits on the loop thread's stack, lowest and highest seen.
        let depth = Mutex<(low: UInt, high: UInt)>((UInt.max, 0))
        loop.execute {
            guard let bind = Endpoint(ip: "127.0.0.1", port: 0) else { return }
            holder.server = try? HTTPServer(bind: bind, loop: loop) { request, respond in
                var marker = 0
                let here = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
                depth.withLock { $0 = (min($0.low, here), max($0.high, here)) }
                respond(HTTPResponse(status: 200, body: Array(request.target.utf8)))
            }
            port.withLock { $0 = holder.server?.endpoint.port }
        }
        #expect(waitUntil { port.withLock { $0 } != nil })
        let p = try #require(port.withLock { $0 })
        let count = 20_000
        var batch: [UInt8] = []
        for i in 0..<count { batch += Array("GET /r\(i) HTTP/1.1\r\nHost: x\r\n\r\n".utf8) }

        let fd = connectTCP("127.0.0.1", p)
        #expect(fd >= 0)
        // The writer runs beside the reader: both directions fill up.
        let writer = spawnThread { [batch] in
            var sent = 0
            while sent < batch.count {
                let n = batch[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
        var received: [UInt8] = []
        var answers = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        let marker = Array("HTTP/1.1 200".utf8)
        var scanned = 0
        while answers < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[0..<n]
            while scanned + marker.count <= received.count {
                if received[scanned] == marker[0] && Array(received[scanned..<(scanned + marker.count)]) == marker { answers += 1 }
                scanned += 1
            }
        }
        if let writer { pthread_join(writer, nil) }
        #expect(answers == count, "\(answers) of \(count) answered")
        // Answered one after another from the same frame, not one call deeper each.
        let spread = depth.withLock { $0.high - $0.low }
        #expect(spread < 64 * 1024, "the stack grew \(spread) bytes while serving pipelined requests")
        let tail = String(decoding: received.suffix(12), as: UTF8.self)
        #expect(tail.hasSuffix("/r\(count - 1)"), "the last answer is the last request's: \(tail)")
        close(fd)
        #expect(waitUntil { loop.sync { holder.server?.openConnections ?? 0 } == 0 }, "the server saw the client go")
        loop.execute { holder.server?.close() }
    }

    /// A client that pipelines requests and never reads the answers: the
    /// server stops serving (and reading) once about a megabyte of answers
    /// waits for it, instead of queuing every answer in memory; once the
    /// client reads, every answer comes, in order.
    @Test func aClientThatNeverReadsHoldsAboutAMegabyteOfAnswersNotAllOfThem() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        final class ServerBox: @unchecked Sendable { var server: HTTPServer? }
        let holder = ServerBox()
        let port = Mutex<UInt16?>(nil)
        let served = Mutex(0)
        let body = [UInt8](repeating: 0x61, count: 64 * 1024)
        loop.execute {
            guard let bind = Endpoint(ip: "127.0.0.1", port: 0) else { return }
            holder.server = try? HTTPServer(bind: bind, loop: loop) { request, respond in
                served.withLock { $0 += 1 }
                respond(HTTPResponse(status: 200, body: body + Array(request.target.utf8)))
            }
            port.withLock { $0 = holder.server?.endpoint.port }
        }
        #expect(waitUntil { port.withLock { $0 } != nil })
        let p = try #require(port.withLock { $0 })
        let count = 2000  // 128 MiB of answers if all were queued
        var batch: [UInt8] = []
        for i in 0..<count { batch += Array("GET /r\(i) HTTP/1.1\r\nHost: x\r\n\r\n".utf8) }
        let fd = connectTCP("127.0.0.1", p)
        defer { close(fd) }
        #expect(fd >= 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let writer = spawnThread { [batch] in
            var sent = 0
            while sent < batch.count {
                let n = batch[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
        // Let the server do what it will while nobody reads.
        var last = -1
        _ = waitUntil(30) {
            usleep(300_000)
            let now = served.withLock { $0 }
            defer { last = now }
            return now == last
        }
        let servedWhileUnread = served.withLock { $0 }
        // What the kernel's socket buffers hold, plus the megabyte, in 64 KiB answers.
        #expect(servedWhileUnread < 200, "\(servedWhileUnread) of \(count) requests answered while the client read nothing")
        var answers = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let marker = Array("HTTP/1.1 200".utf8)
        var tail: [UInt8] = []
        while answers < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            let chunk = tail + buffer[0..<n]
            var i = 0
            while i + marker.count <= chunk.count {
                if chunk[i] == marker[0] && Array(chunk[i..<(i + marker.count)]) == marker { answers += 1 }
                i += 1
            }
            tail = Array(chunk.suffix(marker.count - 1))
        }
        if let writer { pthread_join(writer, nil) }
        #expect(answers == count, "\(answers) of \(count) answered once the client read")
        loop.execute { holder.server?.close() }
    }
}
