import NIOCore
import NIOHTTP1

/// What happens on one connection, as a value: the bytes read are decoded into requests
/// within the limits, one request is answered at a time, and what the channel handler must
/// do next comes back as an `Action`. Pipelined requests that arrive while an answer is
/// awaited stay undecoded in `pending`; once a head's worth waits there, the socket is not
/// read until the answer is sent, so a client cannot make them grow beyond one more read.
struct ConnectionState {
    enum Action {
        /// `Expect: 100-continue`: the client waits for an answer before its body — `100`, or a
        /// final one for a request that would be refused anyway (`answeredBeforeBody`).
        case continueRequested(HTTPRequestHead, RequestDecoder.HeadFacts)
        /// A request whose body is beyond the limit: answer 413 and close.
        case bodyTooLarge(HTTPRequestHead)
        /// A request that was answered before it was read whole has ended.
        case requestEnded
        /// A whole request, to route and answer.
        case dispatch(HTTPRequestHead, ByteBuffer, RequestDecoder.HeadFacts)
        /// Bytes the decoder refused: answer 400, 413 or 431 and close.
        case refuse(RequestDecodingError)
    }

    private var decoder: RequestDecoder
    private let maxBodyBytes: Int
    /// Bytes read ahead while an answer is awaited, before reading stops.
    private let maxPendingBytes: Int
    /// Bytes read and not decoded yet.
    private var pending = ConnectionState.empty
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var facts = RequestDecoder.HeadFacts()
    /// The request was already answered (too large): the rest of it is ignored.
    private var answeredEarly = false
    /// The output is closing: nothing more is decoded or answered.
    private(set) var closing = false
    /// An answer is awaited: nothing more is decoded until it is sent.
    private(set) var awaiting = false
    /// A read the channel asked for while an answer was awaited, issued once it is sent.
    private var readHeld = false

    private static let empty = ByteBuffer()

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        decoder = RequestDecoder(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        self.maxBodyBytes = maxBodyBytes
        maxPendingBytes = maxHeaderBytes
    }

    /// Bytes from the socket (ignored once closing).
    mutating func bytesRead(_ bytes: inout ByteBuffer) {
        guard !closing else { return }
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            pending.writeBuffer(&bytes)
        }
    }

    /// The next thing to do, or nil until more bytes arrive or the awaited answer is sent.
    @inline(__always)
    mutating func next() -> Action? {
        while !awaiting, !closing {
            let part: HTTPServerRequestPart?
            do {
                part = try decoder.next(from: &pending)
            } catch {
                closing = true
                return .refuse(error as? RequestDecodingError ?? .malformed("request"))
            }
            guard let part else { break }
            if let action = received(part) { return action }
        }
        releasePending()
        return nil
    }

    @inline(__always)
    private mutating func received(_ part: HTTPServerRequestPart) -> Action? {
        switch part {
        case .head(let head):
            self.head = head
            body.clear()
            answeredEarly = false
            facts = decoder.facts
            if let length = facts.contentLength, length > maxBodyBytes {
                answeredEarly = true
                return .bodyTooLarge(head)
            }
            return head.version == .http1_1 && facts.expectsContinue ? .continueRequested(head, facts) : nil
        case .body(var chunk):
            guard !answeredEarly, let head else { return nil }
            guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                answeredEarly = true
                return .bodyTooLarge(head)
            }
            body.writeBuffer(&chunk)
            return nil
        case .end:
            guard let head else { return nil }
            self.head = nil
            return answeredEarly ? .requestEnded : .dispatch(head, body, facts)
        }
    }

    /// Lets go of the read buffer once decoded: NIO reuses it for the next read only if nothing else holds it.
    private mutating func releasePending() {
        if pending.readableBytes == 0 {
            pending = Self.empty
        } else if pending.readerIndex > 1 << 16 {
            pending.discardReadBytes()
        }
    }

    /// The request of `continueRequested` was answered: its body, if it comes, is read and dropped.
    mutating func answeredBeforeBody() { answeredEarly = true }

    /// The answer being made is awaited.
    mutating func awaitAnswer() { awaiting = true }

    /// The awaited answer was sent: decoding goes on (`next()`).
    mutating func answerSent() { awaiting = false }

    /// The channel asks to read: whether to read now (else the read is held until the answer
    /// is sent). While an answer is awaited, reading goes on until a head's worth of bytes
    /// waits: the socket stays registered for reading (no system call per awaited answer),
    /// and what a client pipelines stays bounded.
    mutating func readRequested() -> Bool {
        guard awaiting, pending.readableBytes >= maxPendingBytes else { return true }
        readHeld = true
        return false
    }

    /// Whether a held read is due now.
    mutating func takeHeldRead() -> Bool {
        guard !awaiting, readHeld else { return false }
        readHeld = false
        return true
    }

    /// The connection closes after the answer being written.
    mutating func close() { closing = true }
}
