import ArgumentParser
import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthOAuth
import Foundation

// The state of proxy mode, for operators: the signing keys, registered clients, grants,
// remembered consent, and backups of the store (docs/oauth-modes.md, "Operating the state").

/// Where the state store and verdict cache are.
struct StateLocation: ParsableArguments {
    @Option(help: "Data directory of `edgeauth serve` (the state store is its state/ directory).")
    var dataDir = ".edgeauth"

    @Option(help: "The verdict cache the server uses, where revoked access tokens are recorded (default: DATA_DIR/cache).")
    var cacheDir: String?

    func open() throws -> LMDBStateStore {
        let directory = AuthorizationLaunch.stateDirectory(dataDir)
        guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("data.mdb")) else {
            throw ValidationError("no state store in \(directory): start edgeauth serve in proxy mode with --data-dir \(dataDir) first")
        }
        return try LMDBStateStore(directory: directory)
    }

    /// Refuses the access tokens a revocation ended in the verdict cache every worker reads.
    func refuse(_ revoked: StateAdministration.RevokedAccessTokens) {
        guard !revoked.isEmpty else { return }
        let directory = cacheDir ?? (dataDir as NSString).appendingPathComponent("cache")
        do {
            let cache = try SharedCache.open(CacheConfiguration(directory: directory))
            for token in revoked { try cache.revoke(tokenID: token.jti, until: token.expiresAt) }
        } catch {
            writeError("warning: the access tokens could not be recorded in the verdict cache \(directory) (\(error)); running workers refuse them after their next restart")
        }
    }
}

func timestamp(_ seconds: Int64?) -> String {
    guard let seconds else { return "-" }
    return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The authorization server's signing keys.", subcommands: [List.self, Rotate.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys: the current signing key, retired ones still published, the consent key.")
        @OptionGroup var location: StateLocation

        func run() throws {
            let keys = try ServerKeys.list(try location.open())
            printTable(["KID", "USE", "ALG", "CREATED", "RETIRED", "STATE"], keys.map {
                [$0.kid, $0.use, $0.algorithm, timestamp($0.createdAt), timestamp($0.retiredAt), $0.current ? "current" : "published until its tokens expire"]
            })
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new current signing key; the previous one stays published until its last token expires.",
            discussion: "Running servers sign with the new key after a reload (SIGHUP), which also publishes it in /jwks.")
        @OptionGroup var location: StateLocation
        @Option(help: "ES256 or EdDSA.") var algorithm = "ES256"

        func run() throws {
            guard let chosen = OAuthSettings.SigningAlgorithm(rawValue: algorithm) else { throw ValidationError("--algorithm must be ES256 or EdDSA") }
            let kid = try ServerKeys.rotate(try location.open(), algorithm: chosen)
            print("new signing key \(kid); reload the server (kill -HUP <master pid>) to sign with it")
        }
    }
}

struct Clients: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Registered OAuth clients.", subcommands: [List.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the clients registered through /register.")
        @OptionGroup var location: StateLocation

        func run() throws {
            let clients = try StateAdministration(store: try location.open()).clients()
            printTable(["CLIENT ID", "NAME", "AUTH", "REGISTERED", "FROM", "REDIRECT URIS"], clients.map {
                [$0.clientID, $0.name ?? "-", $0.tokenEndpointAuthMethod, timestamp($0.createdAt), $0.registeredFrom ?? "-", $0.redirectURIs.joined(separator: " ")]
            })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client and revoke every grant and consent it holds.")
        @OptionGroup var location: StateLocation
        @Argument(help: "The client_id.") var clientID: String

        func run() throws {
            let outcome = try StateAdministration(store: try location.open()).revokeClient(clientID)
            location.refuse(outcome.revoked)
            guard outcome.found else { throw ValidationError("no registered client \(clientID)") }
            print("client \(clientID) removed; \(outcome.revoked.count) access tokens revoked")
        }
    }
}

struct Grants: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Grants: what a login gave a client, kept alive by refresh tokens.", subcommands: [List.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the live grants.")
        @OptionGroup var location: StateLocation
        @Option(help: "Only this user's grants.") var user: String?

        func run() throws {
            let grants = try StateAdministration(store: try location.open()).grants(user: user)
            printTable(["GRANT", "USER", "CLIENT ID", "SCOPE", "CREATED", "REFRESH UNTIL"], grants.map {
                [$0.id, $0.user.subject, $0.clientID, $0.scopes.joined(separator: " "), timestamp($0.createdAt), timestamp($0.expiresAt)]
            })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke grants: their refresh tokens end now, their access tokens are refused.")
        @OptionGroup var location: StateLocation
        @Option(help: "Every grant of this user.") var user: String?
        @Option(help: "One grant, by id.") var grant: String?

        func validate() throws {
            guard user != nil || grant != nil else { throw ValidationError("give --user or --grant") }
        }

        func run() throws {
            let outcome = try StateAdministration(store: try location.open()).revokeGrants(user: user, grantID: grant)
            location.refuse(outcome.revoked)
            print("\(outcome.grants) grants revoked; \(outcome.revoked.count) access tokens refused")
        }
    }
}

struct Consents: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remembered consent (per user, client and scopes).", subcommands: [List.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List remembered consent.")
        @OptionGroup var location: StateLocation
        @Option(help: "Only this user's.") var user: String?

        func run() throws {
            let consents = try StateAdministration(store: try location.open()).consents(user: user)
            printTable(["USER", "CLIENT ID", "SCOPES", "DECIDED"], consents.map { [$0.user, $0.clientID, $0.scopes.joined(separator: " "), timestamp($0.decidedAt)] })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget remembered consent: the next login asks again.")
        @OptionGroup var location: StateLocation
        @Option(help: "This user's consent.") var user: String?
        @Option(help: "Consent given to this client.") var client: String?

        func validate() throws {
            guard user != nil || client != nil else { throw ValidationError("give --user or --client") }
        }

        func run() throws {
            let count = try StateAdministration(store: try location.open()).revokeConsents(user: user, clientID: client)
            print("\(count) consent records removed")
        }
    }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The state store of proxy mode.", subcommands: [Backup.self, Show.self])

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy the state store while the server runs (a consistent, compacted copy).")
        @OptionGroup var location: StateLocation
        @Argument(help: "A new, empty directory for the copy.") var destination: String

        func run() throws {
            let store = try location.open()
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory) {
                guard isDirectory.boolValue, (try FileManager.default.contentsOfDirectory(atPath: destination)).isEmpty else {
                    throw ValidationError("\(destination) must be a new or empty directory")
                }
            } else {
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try store.backup(to: destination)
            print("state store copied to \(destination); restore by stopping the server and replacing \(store.directory) with it")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Records per table.")
        @OptionGroup var location: StateLocation

        func run() throws {
            let counts = try location.open().counts()
            printTable(["TABLE", "RECORDS"], StateTable.allCases.map { [$0.rawValue, String(counts[$0] ?? 0)] })
        }
    }
}
