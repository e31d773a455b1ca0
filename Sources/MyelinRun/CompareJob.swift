import Foundation
import MyelinClassic
import MyelinCore
import MyelinData
import MyelinTrain

/// What `myelin compare` was asked to do.
public struct CompareRequest {
    public var source: DataSource
    public var dataDir: String?
    /// The split (`seed`, `testSplit`) and CSV options, shared by every model.
    public var settings = TrainSettings()
    /// kNN's `--neighbors`, the trees' `--max-depth`, the forest's `--trees`.
    public var neighbors = 5
    public var maxDepth: Int?
    public var trees = 100
    /// Models to run even when they would take long (`--include forest`).
    public var include: Set<String> = []
    /// Run every model (`--all`).
    public var all = false
    /// The network's epochs (nil: the plan of `myelin train`, with early stopping).
    public var networkEpochs: Int?
    /// Write `compare.json` into this folder.
    public var out: String?
    public var verbosity: Verbosity = .silent

    /// `network` and the classic kinds, in the table's order.
    public static let models = ["network"] + ClassicKind.allCases.map(\.rawValue)

    public init(source: DataSource) { self.source = source }

    /// Checks the options before anything is read; throws `RunError` naming the option.
    public func validate() throws {
        for name in include.sorted() where !Self.models.contains(name) {
            throw RunError(op: "compare", "unknown model '\(name)' in --include; expected \(Self.models.joined(separator: ", "))")
        }
        try source.validate(op: "compare")
        var s = settings
        s.validationSplit = 0
        try s.validate()
        guard neighbors >= 1 else { throw RunError(op: "compare", "--neighbors must be positive, got \(neighbors)") }
        if let maxDepth, maxDepth < 1 { throw RunError(op: "compare", "--max-depth must be positive, got \(maxDepth)") }
        guard trees >= 1 && trees <= 10_000 else { throw RunError(op: "compare", "--trees must be between 1 and 10000, got \(trees)") }
        if let e = networkEpochs, e < 1 || e > TrainSettings.maxEpochs {
            throw RunError(op: "compare", "--epochs must be positive and at most \(TrainSettings.maxEpochs), got \(e)")
        }
        if let out { try RunFolder(out).checkCreatable(op: "compare") }
    }
}

/// One model's line of the comparison.
public struct CompareRow: Codable, Sendable, Equatable {
    /// `network`, `perceptron`, `knn`, `naive-bayes`, `tree` or `forest`.
    public var model: String
    /// The model's settings in words.
    public var detail: String
    /// Test accuracy and macro F1 (nil when skipped).
    public var accuracy: Double?
    public var macroF1: Double?
    /// Seconds of training (fitting), nil when skipped.
    public var seconds: Double?
    /// Seconds of predicting the test part (classic models; kNN's work is there).
    public var testSeconds: Double?
    /// Why the model was not run.
    public var skipped: String?

    enum CodingKeys: String, CodingKey {
        case model, detail, accuracy, macroF1 = "macro_f1", seconds, testSeconds = "test_seconds", skipped
    }
}

/// Everything `myelin compare` found: written as `compare.json`.
public struct CompareResult: Codable, Sendable {
    public var data: String
    public var trainingRows: Int
    public var testRows: Int
    public var classes: Int
    public var seed: UInt64
    public var rows: [CompareRow]

    enum CodingKeys: String, CodingKey {
        case data, trainingRows = "training_rows", testRows = "test_rows", classes, seed, rows = "models"
    }
}

/// `myelin compare`: the default network and the classic models trained on the same split, one
/// table of test accuracy and training time.
///
/// ```swift
/// let result = try CompareJob.run(CompareRequest(source: .catalogue(name: "iris")), output: { print($0, terminator: "") })
/// print(CompareJob.table(result))
/// ```
public enum CompareJob {
    /// Estimated seconds (release build, two cores) above which a model is skipped unless asked for.
    public static let budgetSeconds = 60.0

    /// Trains every model that fits the budget (or is asked for), returns the rows in order.
    public static func run(_ request: CompareRequest, output: @escaping (String) -> Void) throws -> CompareResult {
        try request.validate()
        var request = request
        if case .csv(let path, let label, let task) = request.source {
            request.source = .csv(path: TrainJob.absolutePath(path), label: label, task: task)
        }
        var settings = request.settings
        settings.validationSplit = 0
        let data = try RunData.load(request.source, dataDir: request.dataDir, settings: settings)
        guard data.task == .classification else {
            throw RunError(op: "compare", "\(request.source.label) is a regression task; compare reports the accuracy of classifiers")
        }
        let n = data.train.count, d = data.inputShape.reduce(1, *), classes = data.classNames.count
        let wanted = { (name: String) in request.all || request.include.contains(name) }
        var rows: [CompareRow] = []
        output("compare on \(request.source.label): \(n.grouped) training, \(data.test.count.grouped) test examples, \(classes) classes\n")

        output("network: training...\n")
        rows.append(try network(request, output: output))
        for kind in ClassicKind.allCases {
            var s = ClassicSettings(kind: kind)
            (s.neighbors, s.maxDepth, s.trees, s.seed) = (request.neighbors, request.maxDepth, request.trees, request.settings.seed)
            let estimate = estimatedSeconds(kind, settings: s, rows: n, features: d, classes: classes, testRows: data.test.count)
            if estimate > budgetSeconds && !wanted(kind.rawValue) {
                rows.append(CompareRow(model: kind.rawValue, detail: s.text, skipped: "about \(Int(estimate / 60) + 1) min or more on "
                                       + "\(n.grouped) x \(d.grouped); --include \(kind.rawValue) or --all runs it"))
                continue
            }
            output("\(kind.rawValue): fitting...\n")
            let fit = try ClassicJob.fit(s, data: data)
            rows.append(CompareRow(model: kind.rawValue, detail: fit.settings.text, accuracy: fit.test.metrics["accuracy"],
                                   macroF1: fit.test.metrics["macro_f1"], seconds: fit.seconds, testSeconds: fit.testSeconds))
        }
        let result = CompareResult(data: request.source.label, trainingRows: n, testRows: data.test.count, classes: classes,
                                   seed: request.settings.seed, rows: rows)
        if let out = request.out {
            let folder = RunFolder(out)
            try folder.create()
            try folder.writeJSON(result, to: folder.file("compare.json"))
        }
        return result
    }

    /// Trains the default network of `myelin train` (as `myelin train` plans it, with its validation
    /// part for early stopping) in a temporary run folder, removed afterwards.
    static func network(_ request: CompareRequest, output: @escaping (String) -> Void) throws -> CompareRow {
        let dir = NSTemporaryDirectory() + "myelin-compare-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var train = TrainRequest(source: request.source, out: dir + "/network")
        train.dataDir = request.dataDir
        train.settings.seed = request.settings.seed
        train.settings.testSplit = request.settings.testSplit
        train.settings.missing = request.settings.missing
        train.settings.categoricalEncoding = request.settings.categoricalEncoding
        train.given = []
        if let epochs = request.networkEpochs {
            train.settings.epochs = epochs
            train.given = [.epochs]
        }
        train.verbosity = request.verbosity
        train.drawFilters = false
        var model = "mlp"
        let metrics = try TrainJob.train(train, output: { line in
            if line.hasPrefix("model: ") { model = String(line.dropFirst(7).prefix { $0 != "\n" }) }
        })
        var seconds: Double?
        if let bytes = FileManager.default.contents(atPath: RunFolder(train.out!).results),
           let results = try? RunFolder.decoder.decode([String: [String: Double]].self, from: bytes) {
            seconds = results["training"]?["seconds"]
        }
        return CompareRow(model: "network", detail: model, accuracy: metrics["accuracy"], macroF1: metrics["macro_f1"], seconds: seconds)
    }

    /// A rough estimate of a model's fitting (and, for kNN, test) time in a release build, from
    /// the data's size: what decides whether `compare` runs it by default.
    public static func estimatedSeconds(_ kind: ClassicKind, settings: ClassicSettings, rows n: Int, features d: Int,
                                        classes: Int, testRows m: Int) -> Double {
        let (n, d, m) = (Double(n), Double(d), Double(m))
        let levels = max(1, log2(max(n, 2)))
        switch kind {
        case .perceptron:
            // Every pass: a product per row and binary problem, in plain Swift.
            return Double(settings.epochs) * n * d * Double(classes > 2 ? classes : 1) / 5e8
        case .knn:
            // Products of test and training rows through BLAS (about 2e10 a second in float64).
            return 2 * n * m * d / 2e10
        case .naiveBayes:
            return n * d / 1e8
        case .tree:
            // Sorting every feature's values at every level of the tree.
            return n * d * levels * levels / 1e8
        case .forest:
            return Double(settings.trees) * n * max(1, d.squareRoot()) * levels * levels / 2e8
        }
    }

    /// The table `myelin compare` prints.
    public static func table(_ result: CompareResult) -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        func time(_ s: Double?) -> String { s.map { $0 < 10 ? String(format: "%.3f s", $0) : String(format: "%.1f s", $0) } ?? "-" }
        var text = pad("model", 13) + pad("accuracy", 10) + pad("macro F1", 10) + pad("train time", 12) + pad("test time", 11) + "settings\n"
        for row in result.rows {
            if let why = row.skipped {
                text += pad(row.model, 13) + "skipped: \(why)\n"
                continue
            }
            text += pad(row.model, 13) + pad(row.accuracy.map { String(format: "%.4f", $0) } ?? "-", 10)
                + pad(row.macroF1.map { String(format: "%.4f", $0) } ?? "-", 10) + pad(time(row.seconds), 12) + pad(time(row.testSeconds), 11)
                + row.detail + "\n"
        }
        text += "same test part for every model (seed \(result.seed)); the classic models fit all \(result.trainingRows.grouped) training rows, "
            + "the network holds out a validation part of them for early stopping\n"
        return text
    }
}
