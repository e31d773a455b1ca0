import ArgumentParser
import Foundation
import Myelin

/// `myelin cluster`: k-means or a Gaussian mixture on a CSV file or a catalogue data set.
struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster rows with k-means or a Gaussian mixture; write assignments, centres and results.json.",
        discussion: """
            myelin cluster --csv points.csv --k 3 --out clusters
            myelin cluster --data iris --k 3 --method gmm --out clusters
            myelin cluster --data moons --count 400 --noise 0.05 --k 2 --method gmm \\
                --out clusters

            A CSV may have a header; a column named label, class, target or y is read as \
            labels (for the ARI).
            """)

    @Option(help: "Numeric CSV file to cluster.") var csv: String?
    @Option(help: "Catalogue data set to cluster (training and test rows; see `myelin datasets`).") var data: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A generated data set's points (default \(GeneratedSet.defaultCount)).", valueName: "n")) var count: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("A generated data set's noise (default: the set's, see `myelin datasets`).", valueName: "x")) var noise: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of a generated data set's points (default 0).", valueName: "s")) var dataSeed: UInt64?
    @Option(parsing: .unconditional, help: "Number of clusters.") var k = 3
    @Option(help: "kmeans or gmm.") var method = "kmeans"
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Folder for assignments.csv, centers.csv and results.json.") var out: String

    func run() throws {
        runOrFail {
            guard let m = ClusterJob.Method(rawValue: method) else { throw ClusterError("--method must be kmeans or gmm, got '\(method)'") }
            let generated = try DataOptions.generatedSet(data: data, csv: csv, count: count, noise: noise, dataSeed: dataSeed, op: "cluster")
            let input: (x: FeatureMatrix, labels: [Int]?)
            switch (csv, data) {
            case (let file?, nil): input = try ClusterJob.readCSV(file)
            case (nil, let name?): input = try ClusterJob.readDataset(name, generated: generated)
            default: throw ClusterError("give one of --csv FILE or --data NAME")
            }
            let results = try ClusterJob.run(input.x, labels: input.labels, k: k, method: m, seed: seed, out: out)
            for (key, value) in results.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
        }
    }
}
