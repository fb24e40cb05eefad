@testable import EdgeAuthCrypto
import EdgeAuthTesting
import Foundation
import Testing

@Suite("Curve constants")
struct CurveOrderTests {
    /// The group order as printed by `openssl ecparam -param_enc explicit`.
    static func opensslOrder(_ name: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["ecparam", "-name", name, "-param_enc", "explicit", "-text", "-noout"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let section = try #require(text.range(of: "Order:")).upperBound
        let end = try #require(text.range(of: "Cofactor:")).lowerBound
        var bytes = hexBytes(text[section..<end])
        while bytes.first == 0 && bytes.count > 1 { bytes.removeFirst() }
        return bytes
    }

    @Test("the group orders used for the ECDSA r/s range check match OpenSSL's curve parameters (P-521 had 18 extra bytes)",
          arguments: [Curve.p256, .p384, .p521])
    func orders(curve: Curve) throws {
        #expect(curve.order.count == curve.coordinateBytes)
        let expected = try Self.opensslOrder(curve.openSSLGroup)
        #expect(Array(curve.order.drop(while: { $0 == 0 })) == expected)
    }
}
