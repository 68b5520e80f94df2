import CSystem
import Glibc
import Sockets

/// Buffers for a batch of datagrams in and out (recvmmsg/sendmmsg): one
/// system call moves up to `count` queries or answers.
final class DatagramBatch {
    let count = Int(CSYSTEM_BATCH_MAX)
    let slot: Int
    private var input: [UInt8]
    private var output: [UInt8]
    private var inAddresses: [sockaddr_storage]
    private var inAddressLengths: [socklen_t]
    private var inLengths: [Int32]
    private var outAddresses: [sockaddr_storage]
    private var outAddressLengths: [socklen_t]
    private var outLengths: [Int32]
    private var received = 0

    init(slot: Int) {
        self.slot = slot
        input = Array(repeating: 0, count: slot * count)
        output = Array(repeating: 0, count: slot * count)
        inAddresses = Array(repeating: sockaddr_storage(), count: count)
        inAddressLengths = Array(repeating: 0, count: count)
        inLengths = Array(repeating: 0, count: count)
        outAddresses = inAddresses
        outAddressLengths = inAddressLengths
        outLengths = inLengths
    }

    /// Reads what is waiting, up to `count` datagrams; 0 when none.
    func receive(from fd: Int32) -> Int {
        let slot = Int32(slot), count = Int32(count)
        let n = input.withUnsafeMutableBufferPointer { buffers in
            inAddresses.withUnsafeMutableBufferPointer { addresses in
                inAddressLengths.withUnsafeMutableBufferPointer { addressLengths in
                    inLengths.withUnsafeMutableBufferPointer { lengths in
                        csystem_receive_batch(fd, buffers.baseAddress, slot, addresses.baseAddress,
                                              addressLengths.baseAddress, lengths.baseAddress, count)
                    }
                }
            }
        }
        if n < 0 { Log.debug("dns", "recvmmsg: \(SocketError("recvmmsg"))") }
        received = max(0, Int(n))
        return received
    }

    /// Datagram `i` of the last receive; nil if it did not fit its slot.
    func datagram(_ i: Int) -> [UInt8]? {
        let length = Int(inLengths[i])
        guard i < received, length <= slot else { return nil }
        return Array(input[(i * slot)..<(i * slot + length)])
    }

    func peer(_ i: Int) -> Endpoint? {
        Endpoint(sockaddrStorage: inAddresses[i])
    }

    /// Queues `bytes` as answer number `index`, to the sender of datagram `i`.
    func setReply(_ index: Int, bytes: [UInt8], addressOf i: Int) {
        let length = min(bytes.count, slot)
        output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { src in
                guard let dst = out.baseAddress, let from = src.baseAddress else { return }
                (dst + index * slot).update(from: from, count: length)
            }
        }
        outLengths[index] = Int32(length)
        outAddresses[index] = inAddresses[i]
        outAddressLengths[index] = inAddressLengths[i]
    }

    /// Sends the first `n` queued answers.
    func send(_ n: Int, on fd: Int32) {
        guard n > 0 else { return }
        let slot = Int32(slot)
        let sent = output.withUnsafeBufferPointer { buffers in
            outAddresses.withUnsafeBufferPointer { addresses in
                outAddressLengths.withUnsafeBufferPointer { addressLengths in
                    outLengths.withUnsafeBufferPointer { lengths in
                        csystem_send_batch(fd, buffers.baseAddress, slot, addresses.baseAddress,
                                           addressLengths.baseAddress, lengths.baseAddress, Int32(n))
                    }
                }
            }
        }
        if sent < n { Log.debug("dns", "sendmmsg: \(max(0, Int(sent))) of \(n) answers sent") }
    }
}
