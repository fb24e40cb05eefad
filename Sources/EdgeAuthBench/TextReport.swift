import Foundation

/// The readable table `edgeauth bench` prints by default.
public enum TextReport {
    public static func render(_ report: BenchReport) -> String {
        let machine = report.machine
        var lines = [
            "edgeauth \(report.edgeauthVersion) on \(machine.cpu), \(machine.cores) cores, \(machine.openSSL) "
                + "(SHA instructions: \(machine.hardwareSHA ? "yes" : "no"), AES: \(machine.hardwareAES ? "yes" : "no"))",
        ]
        for token in report.tokens {
            lines.append("")
            lines.append("\(token.label): \(token.algorithm)\(token.keyID.map { ", kid \($0)" } ?? ""), \(token.bytes) bytes, \(token.verdict)")
            let header = ["measurement", "min", "p50", "p90", "p99", "p99.9", "ops/s", "× signature"]
            var rows = [header]
            for measurement in token.measurements {
                let p = measurement.percentiles
                rows.append([measurement.name, duration(p.min), duration(p.p50), duration(p.p90), duration(p.p99), duration(p.p999),
                             rate(measurement.operationsPerSecond), measurement.ratioToSignature.map { String(format: "%.2f", $0) } ?? "—"])
            }
            lines += table(rows)
        }
        if !report.throughput.isEmpty {
            lines.append("")
            lines += table([["throughput", "across", "ops/s"]] + report.throughput.map { [$0.measurement, "\($0.count) \($0.across)", rate($0.operationsPerSecond)] })
        }
        return lines.joined(separator: "\n")
    }

    /// Columns padded to their widest cell; the first left-aligned, the others right-aligned.
    static func table(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
    }

    /// Nanoseconds as ns, µs or ms with three significant digits.
    public static func duration(_ nanoseconds: Double) -> String {
        switch nanoseconds {
        case ..<1_000: String(format: "%.0f ns", nanoseconds)
        case ..<1_000_000: String(format: nanoseconds < 10_000 ? "%.2f µs" : "%.1f µs", nanoseconds / 1_000)
        default: String(format: "%.2f ms", nanoseconds / 1_000_000)
        }
    }

    static func rate(_ perSecond: Double) -> String {
        perSecond >= 1_000_000 ? String(format: "%.2f M", perSecond / 1_000_000) : String(format: "%.0f", perSecond)
    }
}
