import Foundation
import MyelinCore
import MyelinData

/// Where a run's data comes from: a catalogue data set or a CSV file with a label column.
public enum DataSource: Codable, Equatable, Sendable {
    case catalogue(name: String)
    case csv(path: String, label: String, task: RunDescription.Task?)

    /// How `summary` shows it: `mnist` or `csv:data.csv (label 'price')`.
    public var label: String {
        switch self {
        case .catalogue(let name): return name
        case .csv(let path, let label, _): return "csv:\(path) (label '\(label)')"
        }
    }
}

/// The data of a run, split and normalised as the model sees it.
public struct RunData {
    public var train: TensorDataset
    public var validation: TensorDataset?
    public var test: TensorDataset
    /// Test inputs before normalisation (for decision-boundary pictures in the data's own units).
    public var rawTestInputs: Tensor
    public var task: RunDescription.Task
    public var classNames: [String]
    public var featureNames: [String]
    /// Shape of one example.
    public var inputShape: [Int]
    /// How inputs (and regression targets) were scaled; stored in model.json for predict.
    public var scaling: Scaling
    /// How a CSV file's columns were encoded, so predict inputs are encoded the same way.
    public var schema: CSVSchema?

    /// Per-feature standardisation fitted on the training part only.
    public struct Scaling: Codable, Equatable, Sendable {
        public var inputMean: [Double]?
        public var inputStd: [Double]?
        public var targetMean: Double?
        public var targetStd: Double?

        /// Applies the input standardisation (features on the last axis).
        public func inputs(_ x: Tensor) -> Tensor {
            guard let inputMean, let inputStd else { return x }
            let mean = Tensor(shape: [inputMean.count], scalars: inputMean.map { Float($0) })
            let std = Tensor(shape: [inputStd.count], scalars: inputStd.map { Float($0) })
            return (x - mean) / std
        }

        /// Maps standardised regression outputs back to the target's units.
        public func targetsBack(_ y: Tensor) -> Tensor {
            guard let targetMean, let targetStd else { return y }
            return y * targetStd + targetMean
        }

        func targets(_ y: Tensor) -> Tensor {
            guard let targetMean, let targetStd else { return y }
            return (y - targetMean) / targetStd
        }
    }

    /// Loads `source`, holds out a test part when the data set has none, then a validation part
    /// of the training data; fits scaling on what is left for training. Seeded: the same seed
    /// gives the same split (so `resume` and `evaluate` see the data `train` saw).
    public static func load(_ source: DataSource, dataDir: String?, settings: TrainSettings) throws -> RunData {
        var trainX: Tensor, trainY: Tensor, testX: Tensor, testY: Tensor
        var task: RunDescription.Task
        var classNames: [String], featureNames: [String], inputShape: [Int]
        var schema: CSVSchema? = nil
        switch source {
        case .catalogue(let name):
            let data = try Catalogue(dataDir: dataDir).load(name, seed: settings.seed, testFraction: settings.testSplit)
            (trainX, trainY, testX, testY) = (data.train.inputs, data.train.targets, data.test.inputs, data.test.targets)
            task = data.task == .classification ? .classification : .regression
            if task == .classification && data.train.targets.rank != 1 {
                throw RunError("'\(name)' is a sequence data set; `myelin train` learns classification and regression")
            }
            (classNames, featureNames, inputShape) = (data.classNames, data.featureNames, data.inputShape)
        case .csv(let path, let label, let wanted):
            let column: CSVReader.Column = Int(label).map { .index($0) } ?? .name(label)
            let reader = CSVReader(label: column, task: wanted.map { $0 == .classification ? .classification : .regression })
            let table = try reader.read(path: path)
            task = table.task == .classification ? .classification : .regression
            (classNames, featureNames, schema) = (table.classNames, table.featureNames, table.schema)
            inputShape = [table.inputs.shape[1]]
            guard table.inputs.shape[0] >= 5 else {
                throw RunError("\(path) has \(table.inputs.shape[0]) rows; training needs at least 5")
            }
            let (trainIdx, testIdx) = split(table.targets, fraction: settings.testSplit, stratified: task == .classification,
                                            seed: settings.seed)
            (trainX, trainY) = (take(table.inputs, trainIdx), take(table.targets, trainIdx))
            (testX, testY) = (take(table.inputs, testIdx), take(table.targets, testIdx))
        }
        if task == .regression && trainY.rank == 1 { trainY = trainY.reshape([-1, 1]); testY = testY.reshape([-1, 1]) }

        var validation: TensorDataset? = nil
        if settings.validationSplit > 0 {
            let (keep, held) = split(trainY, fraction: settings.validationSplit, stratified: task == .classification,
                                     seed: settings.seed &+ 1)
            if !held.isEmpty && !keep.isEmpty {
                validation = TensorDataset(inputs: take(trainX, held), targets: take(trainY, held))
                (trainX, trainY) = (take(trainX, keep), take(trainY, keep))
            }
        }

        // Tabular features are standardised; images ([C, H, W], already in [0, 1]) are left as they are.
        var scaling = Scaling()
        if inputShape.count == 1 {
            let mean = trainX.mean(axis: 0), std = trainX.std(axis: 0, unbiased: false)
            scaling.inputMean = mean.doubles
            scaling.inputStd = std.doubles.map { $0 > 1e-12 ? $0 : 1 }
        }
        if task == .regression {
            let y = trainY.doubles
            let mean = y.reduce(0, +) / Double(max(y.count, 1))
            let std = (y.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(y.count, 1))).squareRoot()
            scaling.targetMean = mean
            scaling.targetStd = std > 1e-12 ? std : 1
        }
        func prepared(_ x: Tensor, _ y: Tensor) -> TensorDataset {
            TensorDataset(inputs: scaling.inputs(x), targets: task == .regression ? scaling.targets(y.to(.float32)) : y)
        }
        return RunData(train: prepared(trainX, trainY), validation: validation.map { prepared($0.inputs, $0.targets) },
                       test: prepared(testX, testY), rawTestInputs: testX, task: task, classNames: classNames,
                       featureNames: featureNames, inputShape: inputShape, scaling: scaling, schema: schema)
    }

    /// Rows of `x` at `indices`.
    static func take(_ x: Tensor, _ indices: [Int]) -> Tensor {
        x.indexSelect(axis: 0, indices: Tensor(shape: [indices.count], scalars: indices.map(Int64.init)))
    }

    /// Seeded split of row indices into (kept, held out `fraction`); stratified keeps each
    /// class's share (labels are `targets`' int64 values), at least one held row per class with 2+ rows.
    static func split(_ targets: Tensor, fraction: Double, stratified: Bool, seed: UInt64) -> ([Int], [Int]) {
        let n = targets.shape[0]
        let generator = RandomGenerator(seed: seed)
        let order = Tensor.permutation(n, generator: generator).scalars(as: Int64.self).map { Int($0) }
        guard stratified else {
            let held = Int((Double(n) * fraction).rounded())
            return (Array(order[held...]).sorted(), Array(order[..<held]).sorted())
        }
        let labels = targets.to(.int64).scalars(as: Int64.self)
        var byClass: [Int64: [Int]] = [:]
        for i in order { byClass[labels[i], default: []].append(i) }
        var keep: [Int] = [], held: [Int] = []
        for label in byClass.keys.sorted() {
            let rows = byClass[label]!
            var h = Int((Double(rows.count) * fraction).rounded())
            if h == 0 && rows.count >= 2 && fraction > 0 { h = 1 }
            held += rows[..<h]
            keep += rows[h...]
        }
        return (keep.sorted(), held.sorted())
    }
}
