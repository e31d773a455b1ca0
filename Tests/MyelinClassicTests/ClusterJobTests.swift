import Foundation
import MyelinClassic
import Testing

@Suite("myelin cluster's job")
struct ClusterJobTests {
    @Test func csvWithLabelsToFolder() throws {
        let dir = NSTemporaryDirectory() + "cluster-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a,b,label\n0,0,0\n0,1,0\n5,5,1\n5,6,1\n9,0,2\n9,1,2\n".write(toFile: dir + "/p.csv", atomically: true, encoding: .utf8)
        let (x, labels) = try ClusterJob.readCSV(dir + "/p.csv")
        #expect(x.rows == 6 && x.cols == 2 && labels == [0, 0, 1, 1, 2, 2])
        for method in ClusterJob.Method.allCases {
            let r = try ClusterJob.run(x, labels: labels, k: 3, method: method, seed: 0, out: dir + "/\(method)")
            #expect(r["adjusted_rand_index"] == 1)
            #expect(r[method == .kmeans ? "inertia" : "log_likelihood"] != nil)
            let rows = try String(contentsOfFile: dir + "/\(method)/assignments.csv", encoding: .utf8).split(separator: "\n")
            #expect(rows.count == 7 && rows[0] == "row,cluster,p0,p1,p2")
            #expect(FileManager.default.fileExists(atPath: dir + "/\(method)/results.json"))
            // The picture: six points in three colours and three centre crosses (two paths each).
            let svg = try String(contentsOfFile: dir + "/\(method)/clusters.svg", encoding: .utf8)
            #expect(svg.components(separatedBy: "<circle").count - 1 == 6 + 3)   // points + legend dots
            #expect(svg.components(separatedBy: "<path d=\"M").count - 1 == 6)
            #expect(svg.contains("ARI 1.000"))
        }
        // More than two features: drawn on two principal components.
        let values: [Double] = (0..<24).map { (i: Int) -> Double in Double((i * 7) % 11 + (i / 12) * 20) }
        let x4 = FeatureMatrix(rows: 6, cols: 4, values: values)
        _ = try ClusterJob.run(x4, labels: nil, k: 2, method: .kmeans, seed: 0, out: dir + "/four")
        let svg4 = try String(contentsOfFile: dir + "/four/clusters.svg", encoding: .utf8)
        #expect(svg4.contains("PCA of 4 features") && svg4.contains("principal component 2"))
        try "a,b\n1,x\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        #expect(throws: ClusterError.self) { try ClusterJob.readCSV(dir + "/bad.csv") }
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    /// Text labels score the clustering too; a folder holding another command's run is never
    /// written into (a kNN run's results.json was replaced); too few rows and sequence sets are refused.
    @Test func labelsFoldersAndRefusals() throws {
        let dir = NSTemporaryDirectory() + "cluster-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a,b,class\n0,0,cat\n0,1,cat\n5,5,dog\n5,6,dog\n9,0,1\n9,1,1.0\n".write(toFile: dir + "/p.csv", atomically: true, encoding: .utf8)
        let (x, labels) = try ClusterJob.readCSV(dir + "/p.csv")
        #expect(x.rows == 6 && labels == [0, 0, 1, 1, 2, 2])
        #expect(try ClusterJob.run(x, labels: labels, k: 3, method: .kmeans, seed: 0, out: dir + "/c")["adjusted_rand_index"] == 1)
        // Running again into its own folder replaces its files.
        #expect(try ClusterJob.run(x, labels: labels, k: 2, method: .kmeans, seed: 0, out: dir + "/c")["adjusted_rand_index"] != nil)
        #expect(try String(contentsOfFile: dir + "/c/results.json", encoding: .utf8).contains("\"k\" : 2"))

        for (marker, name) in [("model.json", "net"), ("results.json", "classic"), ("checkpoint.safetensors", "lm")] {
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try "{}".write(toFile: dir + "/\(name)/\(marker)", atomically: true, encoding: .utf8)
            #expect(Self.message { _ = try ClusterJob.run(x, labels: nil, k: 3, method: .kmeans, seed: 0, out: dir + "/" + name) }
                    == "[cluster] --out \(dir)/\(name) holds another run (\(marker)); choose another folder")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/" + name) == [marker])
        }
        #expect(Self.message { _ = try ClusterJob.run(x, labels: nil, k: 3, method: .kmeans, seed: 0, out: "") }
                == "[cluster] --out must name a folder, got an empty path")
        #expect(Self.message { _ = try ClusterJob.run(x, labels: nil, k: 3, method: .kmeans, seed: 0, out: dir + "/p.csv") }
                == "[cluster] --out \(dir)/p.csv is a file")
        let one = FeatureMatrix(rows: 1, cols: 2, values: [1, 2])
        #expect(Self.message { _ = try ClusterJob.run(one, labels: nil, k: 2, method: .gmm, seed: 0, out: dir + "/one") }
                == "[cluster] clustering needs at least 3 rows, got 1")
    }
}
