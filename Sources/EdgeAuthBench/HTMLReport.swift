import Foundation

/// A self-contained HTML page of a report: inline styles and SVG charts (a latency histogram
/// and a percentile chart per measurement), no script and nothing loaded from elsewhere.
public enum HTMLReport {
    public static func render(_ report: BenchReport) -> String {
        let machine = report.machine
        var body = """
            <h1>edgeauth bench</h1>
            <p>EdgeAuth \(escape(report.edgeauthVersion)) · \(escape(machine.cpu)) · \(machine.cores) cores · \(escape(machine.openSSL)) \
            · SHA instructions \(machine.hardwareSHA ? "yes" : "no") · AES \(machine.hardwareAES ? "yes" : "no") · \(escape(machine.operatingSystem))</p>
            <p>Started \(escape(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(report.startedAt))))); \
            tokens verified as at \(report.verifiedAt).</p>

            """
        for token in report.tokens {
            body += "<section><h2>\(escape(token.label))</h2><p>\(escape(token.algorithm))\(token.keyID.map { ", kid " + escape($0) } ?? ""), "
                + "\(token.bytes) bytes, \(escape(token.verdict))</p>\n"
            body += summaryTable(token.measurements)
            for measurement in token.measurements {
                body += "<figure><figcaption>\(escape(measurement.name)): \(escape(measurement.description))</figcaption>"
                    + histogram(measurement) + percentileChart(measurement) + "</figure>\n"
            }
            body += "</section>\n"
        }
        if !report.throughput.isEmpty {
            body += "<section><h2>Throughput</h2><table><tr><th>measurement</th><th>across</th><th>ops/s</th></tr>"
            for row in report.throughput {
                body += "<tr><td>\(escape(row.measurement))</td><td>\(row.count) \(escape(row.across))</td><td>\(TextReport.rate(row.operationsPerSecond))</td></tr>"
            }
            body += "</table></section>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>edgeauth bench</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { padding: 0.2em 0.8em; text-align: right; border-bottom: 1px solid #ddd; }
            th:first-child, td:first-child { text-align: left; }
            figure { display: inline-block; margin: 0.5em 1em 1em 0; }
            figcaption { font-weight: 600; margin-bottom: 0.3em; }
            svg text { font: 10px sans-serif; fill: #444; }
            </style></head><body>
            \(body)</body></html>

            """
    }

    static func summaryTable(_ measurements: [Measurement]) -> String {
        var html = "<table><tr><th>measurement</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>ops/s</th><th>× signature</th></tr>"
        for m in measurements {
            let p = m.percentiles
            let cells = [p.min, p.p50, p.p90, p.p99, p.p999].map { "<td>\(TextReport.duration($0))</td>" }.joined()
            html += "<tr><td>\(escape(m.name))</td>\(cells)<td>\(TextReport.rate(m.operationsPerSecond))</td>"
                + "<td>\(m.ratioToSignature.map { String(format: "%.2f", $0) } ?? "—")</td></tr>"
        }
        return html + "</table>\n"
    }

    static let width = 360.0, height = 160.0, margin = 30.0

    /// Bars of sample counts over latency (log scale, as the buckets are).
    static func histogram(_ measurement: Measurement) -> String {
        let buckets = measurement.histogram
        guard let highest = buckets.map(\.count).max(), highest > 0 else { return "" }
        let barWidth = (width - 2 * margin) / Double(buckets.count)
        var svg = svgOpen("latency histogram of \(measurement.name)")
        for (index, bucket) in buckets.enumerated() {
            let barHeight = (height - 2 * margin) * Double(bucket.count) / Double(highest)
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a78c2\"/>",
                          margin + Double(index) * barWidth, height - margin - barHeight, max(barWidth - 0.5, 0.5), barHeight)
        }
        svg += axisLabel(x: margin, y: height - 10, TextReport.duration(buckets.first!.lowerBound), anchor: "start")
        svg += axisLabel(x: width - margin, y: height - 10, TextReport.duration(buckets.last!.lowerBound), anchor: "end")
        svg += axisLabel(x: margin, y: margin - 10, "samples (\(measurement.batch == 1 ? "one operation each" : "means of \(measurement.batch)"))", anchor: "start")
        return svg + "</svg>"
    }

    /// Latency at each percentile, on a linear scale from zero.
    static func percentileChart(_ measurement: Measurement) -> String {
        let points = measurement.percentiles.points
        guard let top = points.map(\.1).max(), top > 0 else { return "" }
        let xs = points.indices.map { margin + (width - 2 * margin) * Double($0) / Double(points.count - 1) }
        var svg = svgOpen("latency by percentile of \(measurement.name)")
        let path = zip(xs, points).map { x, point in String(format: "%.1f,%.1f", x, height - margin - (height - 2 * margin) * point.1 / top) }
        svg += "<polyline fill=\"none\" stroke=\"#c2564a\" stroke-width=\"2\" points=\"\(path.joined(separator: " "))\"/>"
        for (x, point) in zip(xs, points) {
            svg += axisLabel(x: x, y: height - 10, point.0 == 99.9 ? "p99.9" : point.0 == 0 ? "min" : point.0 == 100 ? "max" : "p\(Int(point.0))", anchor: "middle")
        }
        svg += axisLabel(x: margin, y: margin - 10, "up to \(TextReport.duration(top))", anchor: "start")
        return svg + "</svg>"
    }

    static func svgOpen(_ label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(label))\">"
            + String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>", margin, height - margin, width - margin, height - margin)
    }

    static func axisLabel(x: Double, y: Double, _ text: String, anchor: String) -> String {
        String(format: "<text x=\"%.1f\" y=\"%.1f\" ", x, y) + "text-anchor=\"\(anchor)\">" + escape(text) + "</text>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
