@testable import EdgeAuthHTTP
import NIOCore
import NIOHTTP1
import Testing

/// The connection's state machine alone: bytes in, actions out.
@Suite("HTTP connection state")
struct ConnectionStateTests {
    func describe(_ action: ConnectionState.Action?) -> String {
        switch action {
        case nil: "nil"
        case .continueRequested?: "continue"
        case .bodyTooLarge(let head)?: "413 \(head.uri)"
        case .requestEnded?: "ended"
        case .dispatch(let head, let body, _)?: "dispatch \(head.uri) \(String(buffer: body))"
        case .refuse(let error)?: "refuse \(error)"
        }
    }

    func feed(_ state: inout ConnectionState, _ text: String) {
        var bytes = ByteBuffer(string: text)
        state.bytesRead(&bytes)
    }

    @Test("Pipelined requests wait, undecoded, while an answer is awaited; reading stops past a head's worth and resumes after it")
    func pipelining() {
        var state = ConnectionState(maxHeaderBytes: 64, maxBodyBytes: 16)
        feed(&state, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(describe(state.next()) == "dispatch /a ")
        state.awaitAnswer()
        #expect(describe(state.next()) == "nil")
        let readWhileSmall = state.readRequested()
        #expect(readWhileSmall, "a few bytes waiting: the socket is still read")
        feed(&state, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(describe(state.next()) == "nil")
        let readNow = state.readRequested()
        #expect(!readNow, "a head's worth waiting: reading stops")
        state.answerSent()
        let heldRead = state.takeHeldRead()
        #expect(heldRead)
        #expect(describe(state.next()) == "dispatch /b abc")
        #expect(describe(state.next()) == "dispatch /c ")
        #expect(describe(state.next()) == "nil")
        let readAfter = state.readRequested()
        #expect(readAfter)
    }

    @Test("A body beyond the limit is answered before it is read, the rest ignored; 100-continue is asked for")
    func limits() {
        var state = ConnectionState(maxHeaderBytes: 4096, maxBodyBytes: 4)
        feed(&state, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
        #expect(describe(state.next()) == "413 /big")
        #expect(describe(state.next()) == "ended")
        var chunked = ConnectionState(maxHeaderBytes: 4096, maxBodyBytes: 4)
        feed(&chunked, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
        // Refused at the chunk size that declares more than the limit, before its data (a 413).
        #expect(describe(chunked.next()) == "refuse bodyTooLarge")
        #expect(chunked.closing)
        var waiting = ConnectionState(maxHeaderBytes: 4096, maxBodyBytes: 4)
        feed(&waiting, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        #expect(describe(waiting.next()) == "continue")
        #expect(describe(waiting.next()) == "nil")
        feed(&waiting, "ok")
        #expect(describe(waiting.next()) == "dispatch /e ok")
    }

    @Test("Bytes that are not HTTP/1.1 are refused once; nothing is decoded after")
    func refusal() {
        var state = ConnectionState(maxHeaderBytes: 64, maxBodyBytes: 4)
        feed(&state, "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 100) + "\r\n\r\n")
        #expect(describe(state.next()) == "refuse tooLarge")
        #expect(state.closing)
        feed(&state, "GET / HTTP/1.1\r\n\r\n")
        #expect(describe(state.next()) == "nil")
        var bad = ConnectionState(maxHeaderBytes: 4096, maxBodyBytes: 4)
        feed(&bad, "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
        #expect(describe(bad.next()).hasPrefix("refuse malformed"))
    }
}
