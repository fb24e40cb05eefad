// swift-tools-version:6.3
import PackageDescription

// C modules enter through one Swift module each: COpenSSL only through
// EdgeAuthCrypto, CLMDB only through EdgeAuthCache (docs/architecture.md).
let strictUnsafe: [SwiftSetting] = [.strictMemorySafety()]

let package = Package(
    name: "EdgeAuth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EdgeAuth", targets: ["EdgeAuth"]),
        .library(name: "EdgeAuthCore", targets: ["EdgeAuthCore"]),
        .library(name: "EdgeAuthMCP", targets: ["EdgeAuthMCP"]),
        .executable(name: "edgeauth", targets: ["EdgeAuthCLI"]),
        // The C ABI (include/edgeauth.h). Built as libEdgeAuthCABI.so (the name
        // `edgeauth` belongs to the CLI); `make install` installs it as libedgeauth.so.
        .library(name: "EdgeAuthCABI", type: .dynamic, targets: ["EdgeAuthCABI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "EdgeAuthCore", swiftSettings: strictUnsafe),
        .target(
            name: "EdgeAuthCrypto",
            dependencies: ["EdgeAuthCore", "COpenSSL"],
            swiftSettings: strictUnsafe
        ),
        .target(
            name: "EdgeAuthCache",
            dependencies: [
                "EdgeAuthCore", "CLMDB", .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: strictUnsafe
        ),
        .target(
            name: "EdgeAuth",
            dependencies: [
                "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            // The authorization server of proxy mode: HTTP-agnostic, its routes live in EdgeAuthHTTP.
            name: "EdgeAuthOAuth",
            dependencies: [
                "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "EdgeAuthHTTP",
            dependencies: [
                "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache", "EdgeAuthOAuth",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictUnsafe
        ),
        .target(
            name: "EdgeAuthMCP",
            dependencies: [
                "EdgeAuth", "EdgeAuthCore", "EdgeAuthCache", "EdgeAuthHTTP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            // `edgeauth bench`: measurements of the user's own tokens and keys, and their reports.
            name: "EdgeAuthBench",
            dependencies: ["EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache"]
        ),
        .executableTarget(
            name: "EdgeAuthCLI",
            dependencies: [
                "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache", "EdgeAuthHTTP", "EdgeAuthMCP", "EdgeAuthOAuth", "EdgeAuthBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // examples/notes-server, built here too so its process tests run in `make test`.
        .executableTarget(
            // EdgeAuthMCP re-exports EdgeAuth and EdgeAuthHTTP, whose types the example uses: listed
            // too, so that an incremental build recompiles it when their layout changes.
            name: "NotesServerExample",
            dependencies: ["EdgeAuthMCP", "EdgeAuth", "EdgeAuthHTTP"],
            path: "examples/notes-server/Sources/NotesServer"
        ),
        // The verdict cache's cost as it grows (`make bench-cache`); built here, beside the library's
        // release build, rather than in Benchmarks/, whose first build takes much longer.
        .executableTarget(
            name: "CacheScale",
            dependencies: ["EdgeAuth", "EdgeAuthCache", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthTesting"],
            path: "Benchmarks/CacheScale"
        ),
        // The hand-written header include/edgeauth.h as a module: header only, nothing to link.
        .systemLibrary(name: "CEdgeAuth"),
        .target(
            // The modules EdgeAuth re-exports are listed too: the incremental build only rebuilds a
            // target when a module it declares changes.
            name: "EdgeAuthCABI",
            dependencies: ["EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache", "CEdgeAuth"],
            swiftSettings: strictUnsafe
        ),
        .target(
            name: "EdgeAuthTesting",
            dependencies: [
                "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuth",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Test support that needs Swift Testing itself, apart from EdgeAuthTesting, which a
        // benchmark executable links as well.
        .target(
            name: "EdgeAuthTestThreads",
            dependencies: []
        ),
        .testTarget(
            name: "EdgeAuthCoreTests",
            dependencies: ["EdgeAuthCore", "EdgeAuthTesting", "EdgeAuthTestThreads"]
        ),
        .testTarget(
            name: "EdgeAuthCryptoTests",
            dependencies: ["EdgeAuthCrypto", "EdgeAuth", "EdgeAuthTesting", "EdgeAuthTestThreads"]
        ),
        .testTarget(
            name: "EdgeAuthCacheTests",
            dependencies: ["EdgeAuthCache", "EdgeAuth", "EdgeAuthTesting", "EdgeAuthTestThreads"]
        ),
        .testTarget(
            name: "EdgeAuthCABITests",
            dependencies: ["EdgeAuthCABI", "CEdgeAuth", "EdgeAuth", "EdgeAuthCore", "EdgeAuthTesting", "EdgeAuthTestThreads"]
        ),
        .testTarget(
            name: "EdgeAuthOAuthTests",
            dependencies: ["EdgeAuthOAuth", "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache"]
        ),
        .testTarget(
            name: "EdgeAuthHTTPTests",
            dependencies: [
                "EdgeAuthHTTP", "EdgeAuthOAuth", "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache", "EdgeAuthTesting", "EdgeAuthTestThreads",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EdgeAuthMCPTests",
            dependencies: [
                "EdgeAuthMCP", "EdgeAuthHTTP", "EdgeAuth", "EdgeAuthCore", "EdgeAuthCache", "EdgeAuthTesting",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "EdgeAuthTests",
            dependencies: [
                "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthCache", "EdgeAuthTesting", "EdgeAuthTestThreads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ]
)

// The fuzz targets (Fuzz/README.md): with EDGEAUTH_FUZZ set, the libFuzzer binary of `make fuzz`,
// which links only with `-sanitize=fuzzer` (its runtime drives `main`); otherwise a smoke test of
// every target in `make test`. One or the other: they share the targets' sources.
let fuzzDependencies: [Target.Dependency] = [
    "EdgeAuth", "EdgeAuthCore", "EdgeAuthCrypto", "EdgeAuthHTTP", "EdgeAuthOAuth",
    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOEmbedded", package: "swift-nio"),
]
let fuzzFiles = ["README.md", "run.sh", "seed.py", "seeds.py", "dictionaries"]
if Context.environment["EDGEAUTH_FUZZ"] != nil {
    package.products.append(.executable(name: "edgeauth-fuzz", targets: ["EdgeAuthFuzz"]))
    package.targets.append(.executableTarget(name: "EdgeAuthFuzz", dependencies: fuzzDependencies, path: "Fuzz", exclude: fuzzFiles + ["Smoke"],
                                             sources: ["Targets", "Driver"]))
} else {
    package.targets.append(.testTarget(name: "EdgeAuthFuzzTests", dependencies: fuzzDependencies + ["EdgeAuthTesting"], path: "Fuzz", exclude: fuzzFiles + ["Driver"],
                                       sources: ["Targets", "Smoke"]))
}
