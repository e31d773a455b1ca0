import Foundation
import MyelinClassic
import MyelinData
import Testing

/// The shared data sets folder ($MYELIN_DATA or ../shared/datasets), nil when absent (tests skip).
func sharedDatasets() -> String? {
    var candidates: [String] = []
    if let env = ProcessInfo.processInfo.environment["MYELIN_DATA"], !env.isEmpty { candidates.append(env) }
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(here.deletingLastPathComponent().appendingPathComponent("shared/datasets").path)
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/iris/iris.csv") }
}

/// The fixture document written by scripts/fixtures/gen_classic.py.
nonisolated(unsafe) let fixture: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/classic.json")
    let data = try! Data(contentsOf: url)
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}()

/// A value inside the fixture by a path of keys.
func fx(_ keys: String...) -> Any {
    var v: Any = fixture
    for k in keys { v = (v as! [String: Any])[k]! }
    return v
}
func fxDoubles(_ v: Any) -> [Double] { (v as! [Any]).map { ($0 as! NSNumber).doubleValue } }
func fxInts(_ v: Any) -> [Int] { (v as! [Any]).map { ($0 as! NSNumber).intValue } }
func fxMatrix(_ v: Any) -> FeatureMatrix { FeatureMatrix((v as! [Any]).map { fxDoubles($0) }) }

/// Features (float64, parsed from the text) and classes of a scikit-learn CSV of the shared data sets.
func sklearnData(_ relative: String) throws -> (x: FeatureMatrix, y: [Int]) {
    let path = sharedDatasets()! + "/" + relative
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes) }
    var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }
    if lines[0].split(separator: ",").contains(where: { Double($0) == nil }) { lines.removeFirst() }
    let rows = lines.map { $0.split(separator: ",").map { Double($0)! } }
    return (FeatureMatrix(rows.map { Array($0.dropLast()) }), rows.map { Int($0.last!) })
}

/// SMS spam: labels (1 = spam) and tokens (lower-cased runs of ASCII letters and digits), as the generator.
func smsTokens() throws -> (labels: [Int], tokens: [[String]]) {
    let text = try String(contentsOfFile: sharedDatasets()! + "/sms-spam/SMSSpamCollection", encoding: .utf8)
    var labels: [Int] = [], tokens: [[String]] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        guard let tab = line.firstIndex(of: "\t") else { continue }
        labels.append(line[..<tab] == "spam" ? 1 : 0)
        var words: [String] = [], current = ""
        for s in line[line.index(after: tab)...].lowercased().unicodeScalars {
            if (s >= "a" && s <= "z") || (s >= "0" && s <= "9") { current.unicodeScalars.append(s) } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        tokens.append(words)
    }
    return (labels, tokens)
}

/// Largest |a − b| / max(|b|, floor) over the entries.
func expectClose(_ a: [Double], _ b: [Double], rtol: Double = 0, atol: Double = 1e-9, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) values against \(b.count)", sourceLocation: sourceLocation)
    var worst = 0.0, at = -1
    for (i, (x, y)) in zip(a, b).enumerated() {
        let excess = abs(x - y) - (atol + rtol * abs(y))
        if excess > worst { (worst, at) = (excess, i) }
    }
    #expect(at < 0, "\(what): entry \(at) is \(at >= 0 ? a[at] : 0), expected \(at >= 0 ? b[at] : 0)", sourceLocation: sourceLocation)
}

let needsData = Testing.ConditionTrait.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)")
