import Foundation
import MyelinCore
import MyelinData
import MyelinPlot

/// Bad input to a clustering job (a file, a data set name, an option), described as `[cluster] ...`.
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ reason: String) { description = "[cluster] " + reason }
}

/// What `myelin cluster` does: cluster rows with k-means or a Gaussian mixture and write each row's
/// cluster and membership probabilities, the centres and a results.json into a folder.
///
/// ```swift
/// let (x, labels) = try ClusterJob.readCSV("points.csv")
/// let summary = try ClusterJob.run(x, labels: labels, k: 3, method: .kmeans, seed: 0, out: "clusters")
/// summary["silhouette"]
/// ```
public enum ClusterJob {
    /// k-means or a Gaussian mixture (full covariances).
    public enum Method: String, Sendable, CaseIterable { case kmeans, gmm }

    /// A numeric CSV: an optional header; a column named `label`, `class`, `target` or `y` holds labels.
    public static func readCSV(_ path: String) throws -> (x: FeatureMatrix, labels: [Int]?) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ClusterError("cannot read \(path)") }
        var lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        lines.removeAll { $0.allSatisfy(\.isEmpty) }
        guard let first = lines.first else { throw ClusterError("\(path) has no rows") }
        var labelColumn: Int?
        if first.contains(where: { Double($0) == nil }) {
            labelColumn = first.firstIndex { ["label", "class", "target", "y"].contains($0.lowercased()) }
            lines.removeFirst()
        }
        guard !lines.isEmpty else { throw ClusterError("\(path) has a header but no rows") }
        var rows: [[Double]] = [], labels: [Int] = []
        // Labels only score the clustering (the ARI): names or numbers, numbered as first seen.
        var labelNumbers: [String: Int] = [:]
        for (n, cells) in lines.enumerated() {
            guard cells.count == first.count else { throw ClusterError("\(path): row \(n + 1) has \(cells.count) cells, expected \(first.count)") }
            var row: [Double] = []
            for (j, c) in cells.enumerated() {
                if j == labelColumn {
                    let key = Double(c).map { "\($0)" } ?? c
                    labels.append(labelNumbers[key] ?? { labelNumbers[key] = labelNumbers.count; return labelNumbers.count - 1 }())
                    continue
                }
                guard let v = Double(c), v.isFinite else { throw ClusterError("\(path): row \(n + 1), column \(j + 1): '\(c)' is not a number") }
                row.append(v)
            }
            rows.append(row)
        }
        guard rows[0].count >= 1 else { throw ClusterError("\(path) has no feature columns") }
        return (FeatureMatrix(rows), labelColumn == nil ? nil : labels)
    }

    /// Throws unless `out` can take the job's files: an empty path, a file, or a folder holding
    /// another command's run (its model or results would be mixed with these) are refused; a
    /// folder of an earlier `cluster` is written over.
    static func checkOut(_ out: String) throws {
        guard !out.isEmpty else { throw ClusterError("--out must name a folder, got an empty path") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out, isDirectory: &isDir) else { return }
        guard isDir.boolValue else { throw ClusterError("--out \(out) is a file") }
        let entries = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        let run = ["model.json", "checkpoint.safetensors", "history.json"].first(where: entries.contains)
            ?? (entries.contains("results.json") && !entries.contains("assignments.csv") ? "results.json" : nil)
        if let run {
            throw ClusterError("--out \(out) holds another run (\(run)); choose another folder")
        }
    }

    /// The rows (training then test) and labels of a catalogue data set, flattened; a generated set's
    /// points as they are made (`generated` gives its count, noise and seed, else its defaults).
    public static func readDataset(_ name: String, generated: GeneratedSet? = nil) throws -> (x: FeatureMatrix, labels: [Int]?) {
        if let set = generated ?? (GeneratedSet.names.contains(name) ? GeneratedSet(name) : nil) {
            try set.validate(op: "cluster")
            let points = set.points()
            return (FeatureMatrix(points.inputs), points.targets.ints)
        }
        let d = try Catalogue().load(name)
        guard d.train.targets.rank == 1 else {
            throw ClusterError("'\(name)' is a sequence data set; cluster takes rows of numbers (a table, images or a CSV file)")
        }
        func flat(_ t: Tensor) -> FeatureMatrix { FeatureMatrix(t.reshape([t.shape[0], -1])) }
        let a = flat(d.train.inputs), b = flat(d.test.inputs)
        let x = FeatureMatrix(rows: a.rows + b.rows, cols: a.cols, values: a.values + b.values)
        return (x, d.task == .classification ? d.train.targets.ints + d.test.targets.ints : nil)
    }

    /// Clusters `x`, writes `assignments.csv`, `centers.csv` and `results.json` into `out`, returns the results.
    @discardableResult
    public static func run(_ x: FeatureMatrix, labels: [Int]?, k: Int, method: Method, seed: UInt64, out: String) throws -> [String: Double] {
        try checkOut(out)
        guard x.rows >= 3 else { throw ClusterError("clustering needs at least 3 rows, got \(x.rows)") }
        guard k >= 2 && k < x.rows else { throw ClusterError("--k \(k) must be between 2 and \(x.rows - 1) (the rows less one)") }
        let assigned: [Int], probabilities: FeatureMatrix, centers: FeatureMatrix
        var results: [String: Double] = [:]
        switch method {
        case .kmeans:
            var km = KMeans(k: k, nInit: 10, seed: seed)
            km.fit(x)
            (assigned, centers) = (km.labels, km.centers)
            var p = FeatureMatrix(zerosRows: x.rows, cols: k)
            for (i, c) in assigned.enumerated() { p[i, c] = 1 }
            probabilities = p
            results["inertia"] = km.inertia
        case .gmm:
            var gm = GaussianMixture(components: k, seed: seed)
            gm.fit(x)
            (assigned, centers, probabilities) = (gm.predict(x), gm.means, gm.predictProbabilities(x))
            results["log_likelihood"] = gm.score(x) * Double(x.rows)
            results["bic"] = gm.bic(x)
        }
        if Set(assigned).count >= 2 { results["silhouette"] = Metrics.silhouetteScore(x, assigned) }
        if let labels { results["adjusted_rand_index"] = Metrics.adjustedRandIndex(labels, assigned) }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var a = "row,cluster," + (0..<k).map { "p\($0)" }.joined(separator: ",") + "\n"
            for i in 0..<x.rows { a += "\(i),\(assigned[i])," + (0..<k).map { "\(probabilities[i, $0])" }.joined(separator: ",") + "\n" }
            try a.write(toFile: out + "/assignments.csv", atomically: true, encoding: .utf8)
            let c = centers.rowArrays.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n") + "\n"
            try c.write(toFile: out + "/centers.csv", atomically: true, encoding: .utf8)
            var doc = results.mapValues { $0 as Any }
            doc["method"] = method.rawValue
            doc["k"] = k
            doc["rows"] = x.rows
            let json = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: out + "/results.json"))
            try picture(x, assigned, centers, method: method, results: results).write(to: out + "/clusters.svg")
        } catch {
            throw ClusterError("cannot write into \(out): \(error.localizedDescription)")
        }
        return results
    }

    /// The rows in 2-D coloured by cluster, centres as crosses: the features themselves when there
    /// are two (one: against zero), else their first two principal components (fitted on the rows).
    static func picture(_ x: FeatureMatrix, _ assigned: [Int], _ centers: FeatureMatrix, method: Method,
                        results: [String: Double]) -> SVGPicture {
        let (xy, cxy): (FeatureMatrix, FeatureMatrix)
        var axes = ("x1", "x2"), note = ""
        if x.cols == 2 {
            (xy, cxy) = (x, centers)
        } else if x.cols == 1 {
            func padded(_ m: FeatureMatrix) -> FeatureMatrix {
                FeatureMatrix(rows: m.rows, cols: 2, values: m.values.flatMap { [$0, 0] })
            }
            (xy, cxy) = (padded(x), padded(centers))
            axes = ("x1", "")
        } else {
            var pca = PCA(components: 2)
            pca.fit(x)
            (xy, cxy) = (pca.transform(x), pca.transform(centers))
            axes = ("principal component 1", "principal component 2")
            let kept = pca.explainedVarianceRatio.prefix(2).reduce(0, +)
            note = ", PCA of \(x.cols) features (\(Int((kept * 100).rounded()))% of the variance)"
        }
        var subtitle = "\(x.rows) rows\(note)"
        if let s = results["silhouette"] { subtitle += ", silhouette \(String(format: "%.3f", s))" }
        if let a = results["adjusted_rand_index"] { subtitle += ", ARI \(String(format: "%.3f", a))" }
        return plotScatter(points: xy.tensor, groups: assigned, centers: cxy.tensor,
                           title: "\(method == .kmeans ? "k-means" : "Gaussian mixture"), k = \(centers.rows)",
                           subtitle: subtitle, xTitle: axes.0, yTitle: axes.1, groupName: "cluster")
    }
}
