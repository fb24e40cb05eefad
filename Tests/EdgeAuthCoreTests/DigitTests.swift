@testable import EdgeAuthCore
import Testing

/// The word-at-a-time digit code of the scanner and of NumericDate, against the byte rule.
@Suite("Digits eight bytes at a time")
struct DigitTests {
    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    @Test("nonDigitMask marks the first byte that is not a digit, for every byte at every position")
    func nonDigitMask() {
        for filler in [UInt8(ascii: "0"), UInt8(ascii: "5"), UInt8(ascii: "9")] {
            for position in 0..<8 {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[position] = UInt8(value)
                    let mask = SWAR.nonDigitMask(Self.word(bytes))
                    if Self.isDigit(UInt8(value)) {
                        #expect(mask == 0, "byte \(value) at \(position)")
                    } else {
                        #expect(mask != 0 && SWAR.firstMarked(mask) == position, "byte \(value) at \(position)")
                    }
                    // Bytes above the first non-digit (here the largest, which carries) do not move the mark.
                    if position < 7, !Self.isDigit(UInt8(value)) {
                        for later in (position + 1)..<8 { bytes[later] = 0xFF }
                        #expect(SWAR.firstMarked(SWAR.nonDigitMask(Self.word(bytes))) == position, "byte \(value) at \(position), 0xFF after")
                    }
                }
            }
        }
    }

    @Test("eightDigits reads every digit at every position and agrees with the decimal value")
    func eightDigits() {
        var samples = ["00000000", "99999999", "12345678", "87654321", "00000001", "10000000", "17640000", "09090909"]
        for position in 0..<8 {
            for digit in 0...9 {
                var text = Array("00000000".utf8)
                text[position] = UInt8(ascii: "0") + UInt8(digit)
                samples.append(String(decoding: text, as: UTF8.self))
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 { samples.append(String(format8: UInt64.random(in: 0..<100_000_000, using: &generator))) }
        for text in samples {
            #expect(SWAR.eightDigits(Self.word(Array(text.utf8))) == UInt64(text)!, "\(text)")
        }
    }

    /// NumericDate of a number written as `text`, as the last member of a document or followed by more.
    func numericDate(_ text: String, trailing: String) -> Int64? {
        let doc = Array("{\"v\":\(text)\(trailing)}".utf8)
        return doc.withUnsafeBytes { raw in
            var result: Int64?
            JSONText.forEachMember(raw, JSONSlice(start: 0, end: raw.count, kind: .object)) { _, value in
                result = JSONText.numericDate(raw, value)
                return false
            }
            return result
        }
    }

    @Test("NumericDate of integers of 1 to 18 digits, at the end of the document and before more members")
    func numericDateLengths() {
        var generator = SystemRandomNumberGenerator()
        for length in 1...18 {
            for _ in 0..<50 {
                let first = String(Int.random(in: 1...9, using: &generator))
                let rest = (1..<length).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
                let text = first + rest
                let expected = Int64(text)! <= 253_402_300_799 ? Int64(text) : nil
                #expect(numericDate(text, trailing: "") == expected, "\(text)")
                #expect(numericDate(text, trailing: #","w":"later member""#) == expected, "\(text)")
            }
        }
        // Fractions and exponents after eight or more digits take the general path.
        #expect(numericDate("1764000000.5", trailing: #","w":1"#) == 1_764_000_000)
        #expect(numericDate("17640000000e-1", trailing: "") == 1_764_000_000)
        #expect(numericDate("12345678e1", trailing: #","w":1"#) == 123_456_780)
    }

    @Test("numbers with digit runs of every length are accepted where valid and refused where not")
    func numberSyntax() {
        for length in 1...40 {
            let digits = String((0..<length).map { Character(String(($0 * 7 + 3) % 10)) })
            let integer = "1" + digits
            for valid in [integer, "-" + integer, integer + "." + digits, integer + "e" + digits, integer + "E-" + digits, "0." + digits] {
                #expect((try? JSONValue.parse("[" + valid + "]")) == .array([.number(valid)]), "\(valid)")
                #expect((try? JSONValue.parse(#"{"a":"# + valid + "}")) != nil, "\(valid) last in an object")
                #expect((try? JSONValue.parse(valid)) == .number(valid), "\(valid) alone")
            }
            for invalid in [integer + "x", integer + ".", integer + ".e1", integer + "e", integer + "e+", "0" + digits, integer + "-1", integer + "." + digits + "."] {
                #expect(throws: Malformation.invalidJSON, "\(invalid)") { try JSONValue.parse("[" + invalid + "]") }
            }
        }
    }

    @Test("long claim names are told apart by length and bytes, with and without escapes")
    func longNames() throws {
        let names = MemberKeyTests()
        let plain = try #require(names.claims(#"{"client_ix":"c","permission":["p"],"preferred_usernam":"u","exp":1}"#))
        #expect(plain.0.clientID == nil && plain.0.permissions == nil && plain.0.preferredUsername == nil)
        let escaped = try #require(names.claims(#"{"client\u005fid":"c","permission\u0073":["p"],"preferred\u005fusername":"u","exp":1}"#))
        #expect(escaped.0.clientID != nil && escaped.0.permissions != nil && escaped.0.preferredUsername != nil)
    }
}

extension String {
    /// `value` as exactly eight decimal digits.
    init(format8 value: UInt64) {
        let digits = String(value)
        self = String(repeating: "0", count: 8 - digits.count) + digits
    }
}
