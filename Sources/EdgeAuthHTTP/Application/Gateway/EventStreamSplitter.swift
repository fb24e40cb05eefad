import NIOCore

/// Splits a `text/event-stream` body into whole events (up to and including the blank line
/// that ends each), so that each can be looked at, rewritten, and sent on at once: a slow
/// tool's progress notifications still arrive one by one.
struct EventStreamSplitter {
    private var pending = ByteBuffer()
    private let maxEventBytes: Int

    init(maxEventBytes: Int) {
        self.maxEventBytes = maxEventBytes
    }

    enum SplitError: Error { case eventTooLarge }

    /// The whole events `bytes` completes, in order.
    mutating func feed(_ bytes: ByteBuffer) throws(SplitError) -> [ByteBuffer] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var events: [ByteBuffer] = []
        while let end = Self.eventEnd(in: pending.readableBytesView) {
            if let event = pending.readSlice(length: end - pending.readerIndex) { events.append(event) }
        }
        if pending.readableBytes > maxEventBytes { throw .eventTooLarge }
        if pending.readableBytes == 0 { pending.clear() } else if pending.readerIndex > 1 << 16 { pending.discardReadBytes() }
        return events
    }

    /// What is left when the stream ends (an event without its blank line).
    mutating func rest() -> ByteBuffer? {
        defer { pending.clear() }
        return pending.readableBytes > 0 ? pending : nil
    }

    /// The index just past the blank line ending the first event: a line break (CRLF, LF
    /// or CR) right after another.
    static func eventEnd(in bytes: ByteBufferView) -> Int? {
        var index = bytes.startIndex
        var atLineStart = index == bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                var next = bytes.index(after: index)
                if byte == UInt8(ascii: "\r") {
                    // A CR at the end of what arrived may be the first half of a CRLF.
                    guard next < bytes.endIndex else { return nil }
                    if bytes[next] == UInt8(ascii: "\n") { next = bytes.index(after: next) }
                }
                if atLineStart { return next }
                atLineStart = true
                index = next
                continue
            }
            atLineStart = false
            index = bytes.index(after: index)
        }
        return nil
    }

    /// The `data` of an event: its `data:` lines joined with line breaks (one space after the colon dropped).
    static func data(of event: ByteBuffer) -> String? {
        let text = String(decoding: event.readableBytesView, as: UTF8.self)
        var lines: [Substring] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) where line.hasPrefix("data") {
            var value = line.dropFirst(4)
            guard value.isEmpty || value.first == ":" else { continue }
            value = value.dropFirst()
            if value.first == " " { value = value.dropFirst() }
            lines.append(value)
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// The event with its data replaced by `data` (one line: JSON has no line breaks), its other fields kept.
    static func event(_ event: ByteBuffer, replacingDataWith data: String) -> ByteBuffer {
        let text = String(decoding: event.readableBytesView, as: UTF8.self)
        var out = ""
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            let isData = line.hasPrefix("data") && (line.count == 4 || line.dropFirst(4).first == ":")
            if !isData { out += line + "\n" }
        }
        out += "data: " + data + "\n\n"
        return ByteBuffer(string: out)
    }
}
