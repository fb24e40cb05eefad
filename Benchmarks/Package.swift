// swift-tools-version: 6.1
import PackageDescription

// EdgeAuth benchmarks (package-benchmark). Run from the repository root with
// `make bench`, or here with `swift package --disable-sandbox benchmark`.
//
// Compared in every benchmark, on the tokens and keys in ../bench-data:
//   - EdgeAuth parse + claims policy (no signature),
//   - EdgeAuth full uncached verify,
//   - the raw OpenSSL 3 EVP verification of the same signing input,
//   - vapor/jwt-kit 5 (swift-crypto / BoringSSL).
let package = Package(
    name: "EdgeAuthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(name: "EdgeAuth", path: ".."),
    ],
    targets: [
        // libcrypto from the system (libssl-dev), for the raw OpenSSL baseline.
        .systemLibrary(
            name: "CLibCrypto",
            path: "Sources/CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Whether hardware instruction counters can be read here (for the `instructions` metric).
        .target(name: "CPerfProbe", path: "Sources/CPerfProbe"),
        .executableTarget(
            name: "TokenVerification",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EdgeAuth", package: "EdgeAuth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                "CLibCrypto",
                "CPerfProbe",
            ],
            path: "TokenVerification",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
