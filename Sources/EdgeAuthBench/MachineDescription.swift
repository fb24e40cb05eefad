import EdgeAuthCrypto
import Foundation

/// The machine a run measured, so that two reports can be compared fairly.
public struct MachineDescription: Codable, Sendable {
    public var cpu: String
    public var cores: Int
    public var openSSL: String
    /// Whether the processor has SHA and AES instructions (OpenSSL uses them when present).
    public var hardwareSHA: Bool
    public var hardwareAES: Bool
    public var operatingSystem: String

    public static func current() -> MachineDescription {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            cpuinfo.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? field("Features") ?? "").split(separator: " ").map(String.init))
        return MachineDescription(
            cpu: field("model name") ?? field("Model") ?? "unknown",
            cores: ProcessInfo.processInfo.activeProcessorCount,
            openSSL: OpenSSLLibrary.version,
            hardwareSHA: flags.contains("sha_ni") || flags.contains("sha2"),
            hardwareAES: flags.contains("aes"),
            operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString
        )
    }
}
