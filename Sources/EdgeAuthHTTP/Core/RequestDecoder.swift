#if canImport(Glibc)
import Glibc
#endif
import EdgeAuthCore
import NIOCore
import NIOHTTP1

/// A strict HTTP/1.1 request decoder (RFC 9112) that reads the head straight from the
/// connection's bytes, driven by `ConnectionState`. It replaces NIO's llhttp-based decoder,
/// pipeline handler and response encoder, the largest cost of a request before EdgeAuth's
/// own work (docs/benchmarks.md, "HTTP server").
///
/// Strict where leniency lets two parsers disagree about where a request ends (request
/// smuggling): CRLF line endings only; no whitespace before a header's colon and no folded
/// lines; no control characters in values; one `Content-Length`, digits only;
/// `Transfer-Encoding` only `chunked`, never together with `Content-Length`; chunk sizes in
/// bounded hex; exactly one valid `Host` in HTTP/1.1 (RFC 9112 §3.2). An absolute-form target
/// (`http://host/path`) becomes origin-form, its authority the `Host` (§3.2.2). A request it
/// refuses fails the connection with a `RequestDecodingError` (`tooLarge`: 431,
/// `bodyTooLarge`: 413, `malformed`: 400).
struct RequestDecoder {
    let maxHeaderBytes: Int
    let maxHeaderCount: Int
    /// The most a chunked body may declare: refused at the chunk size that goes beyond it,
    /// before its bytes arrive.
    let maxBodyBytes: Int

    enum State {
        case head
        /// Bytes of a `Content-Length` body still to come (0: the request is complete).
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    /// What the server looks at in a request's head, noted while its fields are checked, so
    /// that nothing walks the fields again or lowercases their names.
    struct HeadFacts {
        /// The body's declared length.
        var contentLength: Int?
        /// `Expect: 100-continue` (the client waits for an interim answer before the body).
        var expectsContinue = false
        /// Whether the connection stays open after the answer: `Connection: close` or
        /// `keep-alive` (both, or either twice: close), else the version's default.
        var keepAlive = true
        /// The value of the `Authorization` field, and how many there are.
        var authorization: String?
        var authorizationCount = 0
    }

    /// The facts of the head `next(from:)` returned last.
    private(set) var facts = HeadFacts()
    private var state = State.head
    /// How far the search for the end of the head got (resumed on the next read).
    private var scanned = 0
    /// The chunk sizes of the current body so far.
    private var declaredChunks = 0
    /// The bytes and lines of the current body's trailer section so far.
    private var trailerBytes = 0
    private var trailerCount = 0

    init(maxHeaderBytes: Int, maxHeaderCount: Int = 256, maxBodyBytes: Int = .max) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }

    static let maxChunkLine = 4096

    /// The next part of a request from `buffer` (consuming its bytes), or nil until more
    /// bytes arrive. Body parts are slices of `buffer`, not copies.
    mutating func next(from buffer: inout ByteBuffer) throws -> HTTPServerRequestPart? {
        while true {
            switch state {
            case .head:
                // Blank lines before a request line are ignored (RFC 9112 §2.2).
                while scanned == 0, buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                    buffer.moveReaderIndex(forwardBy: 2)
                }
                // A lone CR may begin such a blank line: decide once its LF is here.
                if scanned == 0, buffer.readableBytes == 1, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 0x0D { return nil }
                guard let end = try findHeadEnd(buffer) else { return nil }
                let (head, framing, facts) = try unsafe buffer.readWithUnsafeReadableBytes { bytes -> (Int, (HTTPRequestHead, State, HeadFacts)) in
                    unsafe (end, try Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[..<end]), maxHeaderCount: maxHeaderCount))
                }
                scanned = 0
                declaredChunks = 0
                trailerBytes = 0
                trailerCount = 0
                state = framing
                self.facts = facts
                return .head(head)
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .head
                    return .end(nil)
                }
                guard buffer.readableBytes > 0 else { return nil }
                let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                state = .fixed(remaining: remaining - slice.readableBytes)
                return .body(slice)
            case .chunkSize:
                guard let line = try Self.readLine(&buffer, limit: Self.maxChunkLine) else { return nil }
                let size = try Self.chunkSize(line)
                declaredChunks += size
                guard declaredChunks <= maxBodyBytes else { throw RequestDecodingError.bodyTooLarge }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                state = remaining == slice.readableBytes ? .chunkDataEnd : .chunkData(remaining: remaining - slice.readableBytes)
                return .body(slice)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw RequestDecodingError.malformed("chunk size") }
                state = .chunkSize
            case .trailers:
                // Trailer fields are checked like header fields and dropped (nothing here uses
                // them), within the head's limits.
                guard let line = try Self.readLine(&buffer, limit: maxHeaderBytes) else { return nil }
                if line.readableBytes == 0 {
                    state = .head
                    return .end(nil)
                }
                trailerBytes += line.readableBytes + 2
                trailerCount += 1
                guard trailerBytes <= maxHeaderBytes, trailerCount <= maxHeaderCount else { throw RequestDecodingError.tooLarge }
                // Never a framing field (RFC 9110 §6.5.1): a parser that merged it would frame the next request differently.
                let framing = try unsafe line.withUnsafeReadableBytes { bytes -> Bool in
                    let name = try unsafe Self.field(bytes[...]).name
                    return unsafe Self.isEqual(name, "content-length", ignoringCase: true) || Self.isEqual(name, "transfer-encoding", ignoringCase: true)
                }
                guard !framing else { throw RequestDecodingError.malformed("trailer field") }
            }
        }
    }

    /// The length of the head including its blank line, once it is all there.
    private mutating func findHeadEnd(_ buffer: ByteBuffer) throws -> Int? {
        let found: Int? = unsafe buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return nil }
            // From one line feed to the next (`memchr`), each checked for "\r\n\r\n" before it.
            var index = max(scanned, 3)
            while index < bytes.count, let hit = unsafe memchr(base + index, 0x0A, bytes.count - index) {
                index = unsafe UnsafeRawPointer(hit) - base
                if unsafe bytes[index - 1] == 0x0D, unsafe bytes[index - 2] == 0x0A, unsafe bytes[index - 3] == 0x0D { return index + 1 }
                index += 1
            }
            return nil
        }
        if let found {
            guard found <= maxHeaderBytes + 4 else { throw RequestDecodingError.tooLarge }
            return found
        }
        scanned = buffer.readableBytes
        guard buffer.readableBytes <= maxHeaderBytes + 4 else { throw RequestDecodingError.tooLarge }
        return nil
    }

    /// One CRLF-terminated line (without the CRLF), or nil until it has arrived.
    static func readLine(_ buffer: inout ByteBuffer, limit: Int) throws -> ByteBuffer? {
        let length: Int? = unsafe buffer.withUnsafeReadableBytes { bytes in
            guard let newline = unsafe bytes.firstIndex(of: 0x0A) else { return nil }
            return newline
        }
        guard let length else {
            if buffer.readableBytes > limit { throw RequestDecodingError.tooLarge }
            return nil
        }
        guard length >= 1, length <= limit + 1, buffer.getInteger(at: buffer.readerIndex + length - 1, as: UInt8.self) == 0x0D else {
            throw length > limit + 1 ? RequestDecodingError.tooLarge : RequestDecodingError.malformed("line ending")
        }
        let line = buffer.readSlice(length: length - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    // MARK: The head

    /// `tchar` of RFC 9110 §5.6.2: what a method and a field name may contain
    /// (`!#$%&'*+-.^_`|~`, digits and letters), as bits by byte value. Local constants, not a
    /// table: a global table's lazy initializer would be checked on every byte.
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000, high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 64 ? (low >> UInt64(byte)) & 1 != 0 : byte < 128 && (high >> UInt64(byte - 64)) & 1 != 0
    }

    /// Parses a complete head (request line, fields, blank line) and decides the body's framing.
    static func parseHead(_ bytes: UnsafeRawBufferPointer, maxHeaderCount: Int) throws -> (HTTPRequestHead, State, HeadFacts) {
        var lines = unsafe LineReader(bytes: bytes)
        guard let requestLine = try unsafe lines.next(), unsafe !requestLine.isEmpty else { throw RequestDecodingError.malformed("request line") }
        // method SP request-target SP HTTP-version
        guard let firstSpace = unsafe index(of: 0x20, in: requestLine) else { throw RequestDecodingError.malformed("request line") }
        let methodBytes = unsafe requestLine[requestLine.startIndex..<firstSpace]
        guard unsafe !methodBytes.isEmpty, unsafe methodBytes.count <= 32, unsafe methodBytes.allSatisfy({ isTokenCharacter($0) }) else { throw RequestDecodingError.malformed("request line") }
        let rest = unsafe requestLine[(firstSpace + 1)...]
        guard let secondSpace = unsafe index(of: 0x20, in: rest) else { throw RequestDecodingError.malformed("request target") }
        let target = unsafe rest[rest.startIndex..<secondSpace]
        // Visible ASCII only: no spaces, controls or raw bytes above 0x7E in the target, and no
        // fragment (RFC 9112 §3.2: a request target has none; parsers disagree on where it ends).
        guard unsafe !target.isEmpty, unsafe target.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") }) else {
            throw RequestDecodingError.malformed("request target")
        }
        // Origin-form, `*` (OPTIONS), or absolute-form with an http(s) authority (RFC 9112 §3.2).
        let uri: String
        var targetAuthority: String?
        if unsafe target.first == UInt8(ascii: "/") || target.count == 1 && target.first == UInt8(ascii: "*") {
            uri = unsafe String(decoding: target, as: UTF8.self)
        } else if let absolute = unsafe Self.absoluteForm(UnsafeRawBufferPointer(rebasing: target)) {
            uri = absolute.uri
            targetAuthority = absolute.authority
        } else {
            throw RequestDecodingError.malformed("request target")
        }
        let version: HTTPVersion
        let versionBytes = unsafe UnsafeRawBufferPointer(rebasing: rest[(secondSpace + 1)...])
        if unsafe isEqual(versionBytes, "HTTP/1.1") {
            version = .http1_1
        } else if unsafe isEqual(versionBytes, "HTTP/1.0") {
            version = .http1_0
        } else {
            throw RequestDecodingError.malformed("HTTP version")
        }
        // Collected first and handed over whole: `HTTPHeaders.add` checks each name again.
        var fields = [(String, String)]()
        fields.reserveCapacity(8)
        var facts = HeadFacts()
        var chunked = false
        var transferEncoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var sawExpect = false
        var hostIndex: Int?
        var hostCount = 0
        while let line = try unsafe lines.next(), unsafe !line.isEmpty {
            guard fields.count < maxHeaderCount else { throw RequestDecodingError.tooLarge }
            let (nameBytes, valueBytes) = try unsafe Self.field(line)
            let text = unsafe String(decoding: valueBytes, as: UTF8.self)
            if unsafe isEqual(nameBytes, "authorization", ignoringCase: true) {
                facts.authorization = text
                facts.authorizationCount += 1
            } else if unsafe isEqual(nameBytes, "content-length", ignoringCase: true) {
                // One field of digits: a list or a second copy, even of the same length, is refused
                // (RFC 9110 §8.6 allows either), as llhttp and nginx do, so no parser in front reads it otherwise.
                guard facts.contentLength == nil, unsafe !valueBytes.isEmpty, valueBytes.count <= 18,
                      unsafe valueBytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let length = Int(text) else {
                    throw RequestDecodingError.malformed("Content-Length")
                }
                facts.contentLength = length
            } else if unsafe isEqual(nameBytes, "transfer-encoding", ignoringCase: true) {
                // Only `chunked`, alone: other codings would need decoding nothing here does. Not
                // followed by whitespace either, which llhttp refuses.
                guard !transferEncoding, unsafe isEqual(valueBytes, "chunked", ignoringCase: true), unsafe line.last != 0x20 && line.last != 0x09 else {
                    throw RequestDecodingError.malformed("Transfer-Encoding")
                }
                transferEncoding = true
                chunked = true
            } else if unsafe isEqual(nameBytes, "connection", ignoringCase: true) {
                // A list of options (RFC 9110 §7.6.1); only `close` and `keep-alive` matter here.
                for unsafe option in unsafe valueBytes.split(separator: UInt8(ascii: ",")) {
                    var option = unsafe option[...]
                    while let first = unsafe option.first, first == 0x20 || first == 0x09 { unsafe option = unsafe option.dropFirst() }
                    while let last = unsafe option.last, last == 0x20 || last == 0x09 { unsafe option = unsafe option.dropLast() }
                    let optionBytes = unsafe UnsafeRawBufferPointer(rebasing: option)
                    if unsafe isEqual(optionBytes, "close", ignoringCase: true) {
                        connectionClose = true
                    } else if unsafe isEqual(optionBytes, "keep-alive", ignoringCase: true) {
                        // Twice is contradictory enough to close.
                        if connectionKeepAlive { connectionClose = true }
                        connectionKeepAlive = true
                    }
                }
            } else if !sawExpect, unsafe isEqual(nameBytes, "expect", ignoringCase: true) {
                sawExpect = true
                facts.expectsContinue = unsafe isEqual(valueBytes, "100-continue", ignoringCase: true)
            } else if unsafe isEqual(nameBytes, "host", ignoringCase: true) {
                guard unsafe Self.isAuthority(valueBytes) else { throw RequestDecodingError.malformed("Host") }
                hostIndex = fields.count
                hostCount += 1
            }
            unsafe fields.append((String(decoding: nameBytes, as: UTF8.self), text))
        }
        if chunked {
            guard facts.contentLength == nil, version == .http1_1 else { throw RequestDecodingError.malformed("Transfer-Encoding") }
        }
        // One Host, and in HTTP/1.1 always one (RFC 9112 §3.2); an absolute target's authority replaces it.
        guard hostCount == 1 || hostCount == 0 && version == .http1_0 else { throw RequestDecodingError.malformed("Host") }
        if let targetAuthority {
            if let hostIndex { fields[hostIndex].1 = targetAuthority } else { fields.append(("Host", targetAuthority)) }
        }
        facts.keepAlive = connectionClose ? false : connectionKeepAlive || version == .http1_1
        let method = unsafe Self.method(UnsafeRawBufferPointer(rebasing: methodBytes))
        let head = HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(fields))
        return (head, chunked ? .chunkSize : .fixed(remaining: facts.contentLength ?? 0), facts)
    }

    /// A field line's name and value (without the whitespace around it): no empty names, no
    /// whitespace before the colon, no folded continuation lines (RFC 9112 §5), no control
    /// characters in the value.
    @inline(__always)
    static func field(_ line: Slice<UnsafeRawBufferPointer>) throws -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let colon = unsafe index(of: UInt8(ascii: ":"), in: line) else { throw RequestDecodingError.malformed("header field") }
        let name = unsafe UnsafeRawBufferPointer(rebasing: line[line.startIndex..<colon])
        guard unsafe !name.isEmpty, unsafe name.allSatisfy({ isTokenCharacter($0) }) else { throw RequestDecodingError.malformed("header field") }
        var value = unsafe line[(colon + 1)...]
        while let first = unsafe value.first, first == 0x20 || first == 0x09 { unsafe value = unsafe value.dropFirst() }
        while let last = unsafe value.last, last == 0x20 || last == 0x09 { unsafe value = unsafe value.dropLast() }
        let valueBytes = unsafe UnsafeRawBufferPointer(rebasing: value)
        guard unsafe isFieldValue(valueBytes) else { throw RequestDecodingError.malformed("header field") }
        return unsafe (name, valueBytes)
    }

    /// The method; the common ones without building a string first.
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        if unsafe isEqual(bytes, "GET") { return .GET }
        if unsafe isEqual(bytes, "POST") { return .POST }
        return unsafe HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
    }

    /// The offset of the first `byte` in a slice of the head (`memchr`).
    @inline(__always)
    static func index(of byte: UInt8, in bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard let base = unsafe bytes.base.baseAddress, unsafe !bytes.isEmpty,
              let hit = unsafe memchr(base + bytes.startIndex, Int32(byte), bytes.count) else { return nil }
        return unsafe UnsafeRawPointer(hit) - base
    }

    /// Whether `bytes` spell `text`; with `ignoringCase`, ASCII letters match in either case.
    /// (`text` is lowercase; a byte matching a non-letter of it through the case bit would
    /// be a control character, which names and checked values cannot hold.)
    static func isEqual(_ bytes: UnsafeRawBufferPointer, _ text: StaticString, ignoringCase: Bool = false) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let expected = unsafe text.utf8Start
        let fold: UInt8 = ignoringCase ? 0x20 : 0
        for index in 0..<bytes.count where unsafe bytes[index] | fold != expected[index] { return false }
        return true
    }

    /// Whether every byte may appear in a field value (RFC 9110 §5.5): visible characters,
    /// space, tab and obs-text; no other control character, no DEL. Sixteen, then eight bytes
    /// at a time: a word with a byte below 0x20 or a DEL is looked at byte by byte (tabs are allowed).
    static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        // Sixteen bytes per step while they are clean (a token is hundreds), then eight.
        while index + 16 <= bytes.count,
              unsafe !SWAR.hasControlOrDelete(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))),
              unsafe !SWAR.hasControlOrDelete(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self))) {
            index += 16
        }
        while index + 8 <= bytes.count,
              unsafe !SWAR.hasControlOrDelete(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))) {
            index += 8
        }
        while index < bytes.count {
            let byte = unsafe bytes[index]
            guard byte >= 0x20 && byte != 0x7F || byte == 0x09 else { return false }
            index += 1
        }
        return true
    }

    /// Lines of a head, each ending in CRLF; an LF without its CR is an error. (A CR
    /// elsewhere is not a line ending: the checks of the request line and of the fields
    /// refuse it as a control character.)
    @unsafe struct LineReader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func next() throws -> Slice<UnsafeRawBufferPointer>? {
            guard unsafe position < bytes.count, let base = unsafe bytes.baseAddress,
                  let hit = unsafe memchr(base + position, 0x0A, bytes.count - position) else {
                if unsafe position < bytes.count { throw RequestDecodingError.malformed("line ending") }
                return nil
            }
            let lineFeed = unsafe UnsafeRawPointer(hit) - base
            guard unsafe lineFeed > position, unsafe bytes[lineFeed - 1] == 0x0D else { throw RequestDecodingError.malformed("line ending") }
            let line = unsafe bytes[position..<(lineFeed - 1)]
            unsafe position = lineFeed + 1
            return unsafe line
        }
    }
}

/// Why a request could not be decoded.
enum RequestDecodingError: Error, Equatable {
    /// The head (or a chunk line or the trailers) is beyond the header limit, or has too many fields.
    case tooLarge
    /// A chunked body declares more than the body limit.
    case bodyTooLarge
    /// Not HTTP/1.1 as RFC 9112 defines it; names the part.
    case malformed(String)
}
