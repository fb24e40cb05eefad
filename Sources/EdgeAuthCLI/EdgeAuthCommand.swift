import ArgumentParser
import EdgeAuth
import EdgeAuthHTTP
import Foundation
import Logging

@main
struct EdgeAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgeauth",
        abstract: "OAuth 2.1 bearer-token verification for MCP servers.",
        version: EdgeAuthVersion.string,
        subcommands: [Decode.self, Verify.self, Bench.self, Serve.self, DevToken.self, Keys.self, Clients.self, Grants.self, Consents.self, State.self]
    )

    /// Exit status: 0 valid, 1 rejected, 2 usage or configuration error.
    static func main() async {
        // EDGEAUTH_LOG_LEVEL: trace, debug, info (default), notice, warning, error, critical.
        let level = ProcessInfo.processInfo.environment["EDGEAUTH_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// The most `readToken` takes from standard input.
let maxStandardInputBytes = 1 << 20

/// Reads the token argument, or standard input when it is `-`.
/// - Throws: `ExitCode(2)`, with a message, when standard input holds more than 1 MiB.
func readToken(_ argument: String) throws -> [UInt8] {
    var bytes: [UInt8]
    if argument == "-" {
        // One byte more than the limit tells a long input from one that fits exactly.
        bytes = Array(FileHandle.standardInput.readData(ofLength: maxStandardInputBytes + 1))
        guard bytes.count <= maxStandardInputBytes else {
            writeError("error: standard input holds more than \(maxStandardInputBytes) bytes; a token is far shorter")
            throw ExitCode(2)
        }
    } else {
        bytes = Array(argument.utf8)
    }
    // Trailing newline from `echo` or a file; anything else inside is the verifier's business.
    while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
    if bytes.starts(with: Array("Bearer ".utf8)) { bytes.removeFirst(7) }
    return bytes
}

func writeError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a token's header and claims. Nothing is verified."
    )

    @Argument(help: "The token, or - to read it from standard input.")
    var token: String

    func run() throws {
        let bytes = try readToken(token)
        let parsed: Result<(header: JSONValue, claims: JSONValue), Reason> = bytes.withUnsafeBytes { raw in
            TokenView.parse(raw) { result in
                result.map { view in (JSONValue.build(view.header, view.headerObject), JSONValue.build(view.payload, view.payloadObject)) }
            }
        }
        switch parsed {
        case .success(let (header, claims)):
            print(Self.render(header: header, claims: claims))
        case .failure(let reason):
            // A token the verifier refuses for its header (`alg: none`, `crit`, an unknown
            // algorithm) is still shown when its parts are JSON: that is when one wants to look.
            if let (header, claims) = Self.parts(of: bytes) {
                print(Self.render(header: header, claims: claims))
                writeError("the verifier refuses this token: \(reason.code): \(reason.explanation)")
            } else {
                writeError("malformed token: \(reason.code): \(reason.explanation)")
            }
            throw ExitCode(1)
        }
    }

    static func render(header: JSONValue, claims: JSONValue) -> String {
        "UNVERIFIED — signature and claims have NOT been checked\n"
            + "header: " + header.prettyJSONText + "\n"
            + "claims: " + claims.prettyJSONText
    }

    /// The header and claims of a compact token whose first two parts are base64url JSON,
    /// without the verifier's rules; nil otherwise.
    static func parts(of bytes: [UInt8]) -> (header: JSONValue, claims: JSONValue)? {
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3,
              let header = try? JSONValue.parse(Base64URL.decode(String(decoding: segments[0], as: UTF8.self))),
              let claims = try? JSONValue.parse(Base64URL.decode(String(decoding: segments[1], as: UTF8.self)))
        else { return nil }
        return (header, claims)
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a token. Exit 0: valid (identity as JSON); 1: rejected (reason code); 2: usage or configuration error.",
        discussion: VerifierOptions.discussion
    )

    @Argument(help: "The token, or - to read it from standard input.")
    var token: String

    @OptionGroup var verifier: VerifierOptions

    @Flag(help: "Print this process's cache statistics as JSON on standard error.")
    var cacheStats = false

    func run() async throws {
        let verifier: Verifier
        do throws(ConfigurationError) {
            // `verify` listens nowhere: development mode is as contained as on loopback.
            verifier = try await self.verifier.configuration().makeVerifier(listeningOn: ["localhost"])
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        for message in verifier.skippedKeys { writeError("warning: \(message)") }
        let verdict = await verifier.verifyRefreshingKeys(try readToken(token), now: self.verifier.now)
        if cacheStats, let stats = verifier.cacheStatistics {
            writeError(#"{"hits":\#(stats.hits),"negativeHits":\#(stats.negativeHits),"misses":\#(stats.misses),"stores":\#(stats.stores),"errors":\#(stats.errors)}"#)
        }
        switch verdict {
        case .valid(let identity):
            print(identity.jsonValue.prettyJSONText)
        case .rejected(let reason):
            print("rejected: \(reason.code)")
            writeError(reason.explanation)
            throw ExitCode(1)
        }
    }
}
