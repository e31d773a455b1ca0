import Foundation
import MyelinCore
import MyelinData

/// Where a run's data comes from: a catalogue data set, a generated one (with its count, noise and
/// seed, so the same points are made again) or a CSV file with a label column.
public enum DataSource: Codable, Equatable, Sendable {
    case catalogue(name: String)
    case csv(path: String, label: String, task: RunDescription.Task?)
    case generated(set: GeneratedSet)

    /// How `summary` shows it: `mnist`, `spirals (500 points, noise 0.2, data seed 0)` or
    /// `csv:data.csv (label 'price')`.
    public var label: String {
        switch self {
        case .catalogue(let name): return name
        case .csv(let path, let label, _): return "csv:\(path) (label '\(label)')"
        case .generated(let set): return set.description
        }
    }

    /// Throws `[op] ...` when a generated set's name, count or noise is out of range (the other
    /// sources are checked when they are read).
    public func validate(op: String) throws {
        if case .generated(let set) = self { try set.validate(op: op) }
    }
}

/// The data of a run, split and normalised as the model sees it.
public struct RunData {
    public var train: TensorDataset
    public var validation: TensorDataset?
    public var test: TensorDataset
    /// The test part before scaling: inputs and targets in the data's own units (decision
    /// boundaries are drawn in them; `evaluate` scales them with a run's own scaling).
    public var rawTest: TensorDataset
    public var task: RunDescription.Task
    public var classNames: [String]
    public var featureNames: [String]
    /// Shape of one example.
    public var inputShape: [Int]
    /// How inputs (and regression targets) were scaled; stored in model.json for predict.
    public var scaling: Scaling
    /// How a CSV file's columns were encoded, so predict inputs are encoded the same way.
    public var schema: CSVSchema?
    /// What loading decided that the user should know (rows dropped, values imputed, the task
    /// inferred, a test part that is the training data).
    public var notes: [String] = []
    /// True when the data were too few to hold any out: `test` is the training data.
    public var testIsTraining = false
    /// The training part before scaling (classic models that need raw counts read it).
    public var rawTrain: TensorDataset? = nil

    /// Per-feature standardisation fitted on the training part only.
    public struct Scaling: Codable, Equatable, Sendable {
        /// Tabular inputs (nil for images, which stay in [0, 1]).
        public var input: Standardizer?
        /// Regression targets (nil for classification).
        public var target: Standardizer?

        /// Applies the input standardisation (features on the last axis).
        public func inputs(_ x: Tensor) -> Tensor { input?.transform(x) ?? x }

        /// Maps standardised regression outputs back to the target's units.
        public func targetsBack(_ y: Tensor) -> Tensor { target?.inverse(y) ?? y }

        /// Inputs and targets in the data's own units as the model sees them: scaled inputs, and
        /// standardised `[N, 1]` targets when regressing.
        public func prepared(_ x: Tensor, _ y: Tensor, task: RunDescription.Task) -> TensorDataset {
            guard task == .regression else { return TensorDataset(inputs: inputs(x), targets: y) }
            let column = y.rank == 1 ? y.reshape([-1, 1]) : y
            return TensorDataset(inputs: inputs(x), targets: target?.transform(column) ?? column.to(.float32))
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
        var notes: [String] = []
        var testIsTraining = false
        switch source {
        case .catalogue, .generated:
            let catalogue = Catalogue(dataDir: dataDir)
            let data = if case .generated(let set) = source {
                try catalogue.load(set, seed: settings.seed, testFraction: settings.testSplit)
            } else if settings.images == true {
                try catalogue.loadImages(source.label, seed: settings.seed, testFraction: settings.testSplit)
            } else {
                try catalogue.load(source.label, seed: settings.seed, testFraction: settings.testSplit)  // the label is the name
            }
            (trainX, trainY, testX, testY) = (data.train.inputs, data.train.targets, data.test.inputs, data.test.targets)
            task = data.task
            if task == .classification && data.train.targets.rank != 1 {
                throw RunError("'\(data.name)' is a sequence data set; `myelin train` learns classification and regression")
            }
            (classNames, featureNames, inputShape) = (data.classNames, data.featureNames, data.inputShape)
            guard testX.shape[0] > 0 else {
                let rows = trainX.shape[0]
                throw RunError(op: "train", "--test-split \(settings.testSplit) holds out none of the \(rows) rows; raise it")
            }
        case .csv(let path, let label, let wanted):
            let column: CSVReader.Column = Int(label).map { .index($0) } ?? .name(label)
            let table = try readTable(path, label: column, task: wanted, settings: settings)
            task = table.task
            (classNames, featureNames, schema) = (table.classNames, table.featureNames, table.schema)
            notes += table.notes
            inputShape = [table.inputs.shape[1]]
            let rows = table.inputs.shape[0]
            try checkFloat32(table, path: path)
            guard rows >= 1 else { throw RunError(op: "train", "\(path) has no rows to learn from") }
            // Fewer than two rows a class on average: no split can help (a quantity read as classes).
            if task == .classification && rows >= tinyRows && 2 * classNames.count > rows {
                throw RunError(op: "train", "\(path): \(classNames.count) classes in \(rows) rows are too many to learn and test; "
                               + "if the label '\(table.schema.labelColumn ?? label)' is a quantity, give --task regression")
            }
            let (trainIdx, testIdx) = split(table.targets, fraction: settings.testSplit, stratified: task == .classification,
                                            seed: settings.seed)
            if rows < tinyRows {
                // Too few rows to hold any out (the XOR table): train and report on all of them.
                (trainX, trainY, testX, testY) = (table.inputs, table.targets, table.inputs, table.targets)
                testIsTraining = true
                notes.append("warning: \(rows) rows are too few to hold out a test part; training and reporting on the training data")
            } else {
                guard !testIdx.isEmpty else {
                    throw RunError(op: "train", "--test-split \(settings.testSplit) holds out none of the \(rows) rows; raise it")
                }
                (trainX, trainY) = (take(table.inputs, trainIdx), take(table.targets, trainIdx))
                (testX, testY) = (take(table.inputs, testIdx), take(table.targets, testIdx))
            }
        }
        if task == .regression && trainY.rank == 1 { trainY = trainY.reshape([-1, 1]); testY = testY.reshape([-1, 1]) }
        let minimum = task == .classification ? 2 * max(2, classNames.count) : 4
        guard trainX.shape[0] >= minimum || testIsTraining else {
            var more = ""
            if case .generated = source { more = " (a larger --count gives more)" }
            throw RunError(op: "train", "--test-split \(settings.testSplit) leaves \(trainX.shape[0]) of "
                           + "\(trainX.shape[0] + testX.shape[0]) rows for training; at least \(minimum) are needed\(more)")
        }

        var validation: TensorDataset? = nil
        if settings.validationSplit > 0 && !testIsTraining {
            let (keep, held) = split(trainY, fraction: settings.validationSplit, stratified: task == .classification,
                                     seed: settings.seed &+ 1)
            if !held.isEmpty && !keep.isEmpty {
                validation = TensorDataset(inputs: take(trainX, held), targets: take(trainY, held))
                (trainX, trainY) = (take(trainX, keep), take(trainY, keep))
            }
        }

        // Tabular features are standardised; images ([C, H, W], already in [0, 1]) are left as they are.
        let scaling = Scaling(input: inputShape.count == 1 ? Standardizer(fitting: trainX) : nil,
                              target: task == .regression ? Standardizer(fitting: trainY) : nil)
        return RunData(train: scaling.prepared(trainX, trainY, task: task),
                       validation: validation.map { scaling.prepared($0.inputs, $0.targets, task: task) },
                       test: scaling.prepared(testX, testY, task: task), rawTest: TensorDataset(inputs: testX, targets: testY),
                       task: task, classNames: classNames, featureNames: featureNames, inputShape: inputShape,
                       scaling: scaling, schema: schema, notes: notes, testIsTraining: testIsTraining,
                       rawTrain: TensorDataset(inputs: trainX, targets: trainY))
    }

    /// Throws when a value that was a finite number in the file overflowed float32 (|x| > 3.4e38),
    /// or when a regression target's values are too large to standardise.
    static func checkFloat32(_ table: TabularDataset, path: String) throws {
        let width = max(table.inputs.shape[1], 1)
        if let bad = table.inputs.floats.firstIndex(where: { !$0.isFinite }) {
            throw RunError(op: "csv", "\(path): feature '\(table.featureNames[bad % width])' of data row \(bad / width + 1) "
                           + "is too large for float32 (|x| > 3.4e38)")
        }
        if table.task == .regression {
            let y = table.targets.to(.float64).doubles
            if let bad = y.firstIndex(where: { !Float($0).isFinite }) {
                throw RunError(op: "csv", "\(path): the label of data row \(bad + 1) is too large for float32 (|x| > 3.4e38)")
            }
            let mean = y.reduce(0, +) / Double(max(y.count, 1))
            let spread = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            guard mean.isFinite, spread.isFinite, Float(spread / Double(max(y.count, 1))).isFinite else {
                throw RunError(op: "csv", "\(path): the label values are too large to standardise in float32")
            }
        }
    }

    /// Fewer rows than this are not split: the test part is the training data, with a warning.
    public static let tinyRows = 10

    /// The CSV file as the settings say (missing values, categorical encoding).
    static func readTable(_ path: String, label: CSVReader.Column, task: LearningTask?, settings: TrainSettings) throws -> TabularDataset {
        let missing = CSVReader.MissingPolicy(rawValue: settings.missing ?? "impute") ?? .impute
        let encoding: CSVReader.CategoricalEncoding = settings.categoricalEncoding == "label" ? .label : .oneHot
        return try CSVReader(label: label, task: task, categoricalEncoding: encoding, missing: missing).read(path: path)
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
