import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// `myelin compare`: the default network and the classic models on the same split, one table.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the default network and the classic models on the same split; print test accuracy and training time.",
        discussion: """
            myelin compare --data iris
            myelin compare --data breast-cancer --out runs/compare-bc
            myelin compare --data mnist --include forest
            myelin compare --data spirals --count 1000 --noise 0.3

            Models whose fitting would take more than about a minute on the data (estimated \
            from its size, e.g. a tree or a forest on MNIST) are listed as skipped unless \
            --include NAME or --all asks for them.
            """)

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var classicOptions: ClassicOptions
    @Option(help: "Run this model even when it would take long: network, perceptron, knn, naive-bayes, tree, forest (repeatable, or comma-separated).")
    var include: [String] = []
    @Flag(help: "Run every model, however long it takes.") var all = false
    @Option(parsing: .unconditional, help: "Epochs of the network (default: as `myelin train` plans them, with early stopping).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Seed of the split and the models.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Fraction held out for testing when the data set has no test part (default 0.2).") var testSplit: Double?
    @Option(parsing: .unconditional, help: "Threads for kernels and BLAS (default: all cores).") var threads: Int?
    @Option(help: "Write compare.json into this folder.") var out: String?

    func run() throws {
        runOrFail {
            if let threads {
                guard threads >= 1, threads <= 1024 else { throw RunError(op: "compare", "--threads must be between 1 and 1024, got \(threads)") }
                Threading.count = threads
            }
            var request = CompareRequest(source: try dataOptions.source(required: true, op: "compare")!)
            request.dataDir = dataOptions.dataDir
            request.settings.seed = seed
            request.settings.testSplit = testSplit ?? request.settings.testSplit
            try dataOptions.apply(to: &request.settings)
            request.neighbors = classicOptions.neighbors ?? request.neighbors
            request.maxDepth = classicOptions.maxDepth
            request.trees = classicOptions.trees ?? request.trees
            request.include = Set(include.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
            request.all = all
            request.networkEpochs = epochs
            request.out = out
            let result = try CompareJob.run(request, output: writeToStandardOutput)
            print(CompareJob.table(result), terminator: "")
            if let out { print("wrote \(out)/compare.json") }
        }
    }
}
