import Foundation
import TestSupport

/// One sample line of the Prometheus text format 0.0.4.
struct MetricSample: CustomStringConvertible {
    var name: String
    var labels: [String: String]
    var value: Double

    var description: String {
        let pairs = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
        return "\(name){\(pairs.joined(separator: ","))} \(value)"
    }
}

/// A parsed text-format scrape, with lookups by name and label subset.
struct MetricsExposition {
    var samples: [MetricSample] = []

    /// Parses the sample lines of `text` (comments skipped); throws on a line it cannot read.
    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            samples.append(try Self.parseLine(Substring(line)))
        }
    }

    /// Samples named `name` whose labels include every pair of `labels`.
    func samples(_ name: String, _ labels: [String: String] = [:]) -> [MetricSample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The sum over ``samples(_:_:)`` (0 when none match).
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples(name, labels).reduce(0) { $0 + $1.value }
    }

    /// The value of the single matching sample; nil when there is none or more than one.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    private static func parseLine(_ line: Substring) throws -> MetricSample {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "=") else {
                    throw IntegrationError("no '=' in labels of \(line)")
                }
                let labelName = String(line[index..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                index = line.index(after: equals)
                guard index < line.endIndex, line[index] == "\"" else {
                    throw IntegrationError("label value not quoted in \(line)")
                }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { throw IntegrationError("bad escape in \(line)") }
                        value.append(line[index] == "n" ? "\n" : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { throw IntegrationError("unterminated label value in \(line)") }
                labels[labelName] = value
                index = line.index(after: index)
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { throw IntegrationError("unterminated labels in \(line)") }
            index = line.index(after: index)
        }
        let fields = line[index...].split(separator: " ", omittingEmptySubsequences: true)
        guard let first = fields.first, let value = parseValue(first) else {
            throw IntegrationError("no value in \(line)")
        }
        return MetricSample(name: name, labels: labels, value: value)
    }

    private static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}
