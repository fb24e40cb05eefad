extension TokenView {
    /// The three segments of a compact JWS, decoded into scratch memory.
    @usableFromInline
    @unsafe struct Segments {
        @usableFromInline var header: UnsafeRawBufferPointer
        @usableFromInline var payload: UnsafeRawBufferPointer
        @usableFromInline var signature: UnsafeRawBufferPointer
        /// Where the signing input (`header "." payload`) ends in the token.
        @usableFromInline var signingInputEnd: Int

        /// Splits and decodes `token` in one pass over it; any irregularity is classified
        /// by `strictDecode`, which reports the most telling problem.
        @usableFromInline
        static func decode(_ token: UnsafeRawBufferPointer, into scratch: UnsafeMutableRawBufferPointer) -> Result<Segments, Reason> {
            let dot = UInt8(ascii: ".")
            let base = scratch.baseAddress!
            guard let header = unsafe Base64URL.decodeRun(token, from: 0, into: base),
                  header.stop > 0, header.stop < token.count, unsafe token[header.stop] == dot,
                  let payload = unsafe Base64URL.decodeRun(token, from: header.stop + 1, into: base + header.count),
                  payload.stop > header.stop + 1, payload.stop < token.count, unsafe token[payload.stop] == dot,
                  let signature = unsafe Base64URL.decodeRun(token, from: payload.stop + 1, into: base + header.count + payload.count),
                  signature.stop == token.count
            else {
                return unsafe strictDecode(token, into: scratch)
            }
            let scratchView = UnsafeRawBufferPointer(scratch)
            let payloadEnd = header.count + payload.count
            return unsafe .success(Segments(
                header: UnsafeRawBufferPointer(rebasing: scratchView[0..<header.count]),
                payload: UnsafeRawBufferPointer(rebasing: scratchView[header.count..<payloadEnd]),
                signature: UnsafeRawBufferPointer(rebasing: scratchView[payloadEnd..<(payloadEnd + signature.count)]),
                signingInputEnd: payload.stop
            ))
        }

        /// Segment by segment, in the order the rules are checked: the number of segments
        /// (and JSON serialization), empty segments, lengths, then each segment's encoding.
        @usableFromInline
        static func strictDecode(_ token: UnsafeRawBufferPointer, into scratch: UnsafeMutableRawBufferPointer) -> Result<Segments, Reason> {
            let dot = UInt8(ascii: ".")
            let firstDot = unsafe SWAR.firstIndex(of: dot, in: token, from: 0) ?? -1
            let secondDot = unsafe firstDot < 0 ? -1 : SWAR.firstIndex(of: dot, in: token, from: firstDot + 1) ?? -1
            guard secondDot >= 0, unsafe SWAR.firstIndex(of: dot, in: token, from: secondDot + 1) == nil else {
                if let first = unsafe token.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                    return unsafe .failure(.malformed(.jsonSerialization))
                }
                return unsafe .failure(.malformed(.segmentCount))
            }
            let headerText = unsafe UnsafeRawBufferPointer(rebasing: token[0..<firstDot])
            let payloadText = unsafe UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
            let signatureText = unsafe UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])
            if let first = unsafe token.first, first == UInt8(ascii: "{") {
                return unsafe .failure(.malformed(.jsonSerialization))
            }
            // An empty signature is reported after the header is read, so `alg: none` gets its own code.
            guard unsafe !headerText.isEmpty, unsafe !payloadText.isEmpty else {
                return unsafe .failure(.malformed(.emptySegment))
            }
            guard Base64URL.decodedLength(headerText.count) != nil,
                  Base64URL.decodedLength(payloadText.count) != nil,
                  Base64URL.decodedLength(signatureText.count) != nil
            else {
                return unsafe .failure(.malformed(classifyLength(headerText, payloadText, signatureText)))
            }
            do {
                let scratchView = UnsafeRawBufferPointer(scratch)
                let headerCount = try unsafe Base64URL.decode(headerText, into: scratch)
                let payloadCount = try unsafe Base64URL.decode(payloadText, into: UnsafeMutableRawBufferPointer(rebasing: scratch[headerCount...]))
                let payloadEnd = headerCount + payloadCount
                let signatureCount = try unsafe Base64URL.decode(signatureText, into: UnsafeMutableRawBufferPointer(rebasing: scratch[payloadEnd...]))
                return unsafe .success(Segments(
                    header: UnsafeRawBufferPointer(rebasing: scratchView[0..<headerCount]),
                    payload: UnsafeRawBufferPointer(rebasing: scratchView[headerCount..<payloadEnd]),
                    signature: UnsafeRawBufferPointer(rebasing: scratchView[payloadEnd..<(payloadEnd + signatureCount)]),
                    signingInputEnd: secondDot
                ))
            } catch {
                return unsafe .failure(.malformed(error))
            }
        }

        /// Malformation for a segment whose length no base64url text can have — or
        /// an earlier, more telling problem in its bytes.
        static func classifyLength(_ segments: UnsafeRawBufferPointer...) -> Malformation {
            for unsafe segment in unsafe segments {
                for unsafe byte in unsafe segment where Base64URL.decodeTable[Int(byte)] == 0xFF {
                    return unsafe Base64URL.invalidByte(segment[...])
                }
            }
            return .base64Length
        }
    }
}
