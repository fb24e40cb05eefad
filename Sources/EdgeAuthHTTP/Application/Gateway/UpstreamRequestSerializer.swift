import NIOCore
import NIOHTTP1

/// A request to an upstream as it goes on the wire, in one buffer: the request line, the
/// headers (as `GatewayHeaders.request` chose them), the body.
enum UpstreamRequestSerializer {
    /// `target` must be visible ASCII (the gateway checks it); header names that are not
    /// tokens are dropped and CR/LF in values become spaces, as in answers.
    static func serialize(method: HTTPMethod, target: String, headers: [(String, String)], body: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let methodName = method.rawValue
        var bound = methodName.utf8.count + target.utf8.count + 16 + body.readableBytes
        for (name, value) in headers { bound += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: bound)
        unsafe buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { room in
            guard let start = room.baseAddress else { return 0 }
            var out = unsafe ResponseSerializer.Writer(cursor: start, end: start + room.count)
            out.write(methodName)
            out.write(" ")
            out.write(target)
            out.write(" HTTP/1.1\r\n")
            for (name, value) in headers { out.header(name, value) }
            out.write("\r\n")
            unsafe body.withUnsafeReadableBytes { unsafe out.write($0) }
            return unsafe out.cursor - start
        }
        return buffer
    }

    /// Whether `target` can go in a request line as it is.
    static func isValidTarget(_ target: String) -> Bool {
        !target.isEmpty && target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
