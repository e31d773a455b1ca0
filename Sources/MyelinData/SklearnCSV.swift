import MyelinCore

/// The CSV files scikit-learn ships (`sklearn/datasets/data/`): iris, wine and breast cancer start
/// with a header `n_samples,n_features,<class names...>`; digits has no header (64 pixels, then the
/// label). Every row is the features then the integer class index. Gzipped files are detected.
///
/// ```swift
/// let iris = try SklearnCSV.read(path: "iris/iris.csv")   // inputs [150, 4], classes setosa, ...
/// ```
public enum SklearnCSV {
    /// Reads the file as a classification `TabularDataset` (float32 features, int64 classes).
    /// `featureNames` names the columns (default `feature0`, ...); `classNames` is used for files
    /// without a header (default: the class indices as text).
    public static func read(path: String, featureNames: [String]? = nil, classNames: [String]? = nil) throws -> TabularDataset {
        func bad(_ line: Int?, _ column: Int?, _ reason: String) -> DataError {
            DataError(op: "csv", file: path, line: line, column: column, reason: reason)
        }
        let bytes = try readMaybeGzipped(path, op: "csv")
        let records = try CSVParser.parse(bytes, delimiter: UInt8(ascii: ","), path: path)
        guard !records.isEmpty else { throw bad(nil, nil, "file has no rows") }
        var rows = records[...]
        var declared: (samples: Int, features: Int)?
        var names = classNames
        let first = records[0].cells
        if records.count >= 2, first.count != records[1].cells.count || first.count < 2 || first.dropFirst(2).contains(where: { CSVParser.number($0) == nil }) {
            guard first.count >= 2, let s = Int(first[0]), let f = Int(first[1]), s >= 0, f >= 0 else {
                throw bad(records[0].line, nil, "header must start with n_samples,n_features, got '\(first.prefix(2).joined(separator: ","))'")
            }
            declared = (s, f)
            names = Array(first.dropFirst(2))
            rows = records.dropFirst()
        }
        let width = rows.first?.cells.count ?? 0
        let featureCount = declared?.features ?? width - 1
        guard featureCount >= 1 else { throw bad(rows.first?.line, nil, "row has \(width) cells, needs features and a label") }
        if let d = declared, d.samples != rows.count {
            throw bad(nil, nil, "header says \(d.samples) samples, file has \(rows.count) rows")
        }
        if let featureNames, featureNames.count != featureCount {
            throw bad(nil, nil, "\(featureNames.count) feature names given for \(featureCount) features")
        }
        var values = [Float](), labels = [Int64]()
        values.reserveCapacity(rows.count * featureCount)
        var maxLabel = -1
        for r in rows {
            guard r.cells.count == featureCount + 1 else {
                throw bad(r.line, nil, "row has \(r.cells.count) cells, expected \(featureCount + 1)")
            }
            for (c, cell) in r.cells.enumerated() {
                guard let v = CSVParser.number(cell) else {
                    throw bad(r.line, c + 1, CSVParser.isMissing(cell) ? "missing value" : "'\(cell)' is not a number")
                }
                if c < featureCount { values.append(Float(v)) } else {
                    guard v == v.rounded(), v >= 0, v < 1e6 else { throw bad(r.line, c + 1, "label '\(cell)' is not a class index") }
                    if let names, Int(v) >= names.count {
                        throw bad(r.line, c + 1, "label \(Int(v)) is out of range for \(names.count) classes")
                    }
                    labels.append(Int64(v))
                    maxLabel = Swift.max(maxLabel, Int(v))
                }
            }
        }
        let classes = names ?? (0...Swift.max(maxLabel, 0)).map(String.init)
        let features = featureNames ?? (0..<featureCount).map { "feature\($0)" }
        let schema = CSVSchema(columns: features.map { CSVSchema.Column(name: $0, encoding: .numeric) },
                               labelColumn: "target", labelPosition: featureCount, task: .classification,
                               classNames: classes, hasHeader: false, delimiter: ",")
        return TabularDataset(inputs: Tensor(shape: [rows.count, featureCount], scalars: values),
                              targets: Tensor(shape: [rows.count], scalars: labels),
                              featureNames: features, classNames: classes, task: .classification, schema: schema, hasLabels: true)
    }
}

/// A dataset from two arrays of a NumPy `.npz` archive (first axes must match).
///
/// ```swift
/// let data = try NPZDataset(path: "train.npz", inputs: "x", targets: "y")
/// ```
public struct NPZDataset: Dataset {
    public let inputs: Tensor
    public let targets: Tensor

    public init(path: String, inputs inputsKey: String = "x", targets targetsKey: String = "y") throws {
        let arrays: [String: Tensor]
        do { arrays = try Tensor.loadNPZ(path) } catch let e as NPYError {
            throw DataError(op: "npz", file: path, reason: "\(e)")
        } catch let e as FileError {
            throw DataError(op: "npz", file: path, reason: e.reason)
        }
        let keys = arrays.keys.sorted().joined(separator: ", ")
        guard let x = arrays[inputsKey] else { throw DataError(op: "npz", file: path, reason: "no array '\(inputsKey)' (arrays: \(keys))") }
        guard let y = arrays[targetsKey] else { throw DataError(op: "npz", file: path, reason: "no array '\(targetsKey)' (arrays: \(keys))") }
        guard x.rank >= 1, y.rank >= 1, x.shape[0] == y.shape[0] else {
            throw DataError(op: "npz", file: path, reason: "'\(inputsKey)' \(x.shape) and '\(targetsKey)' \(y.shape) differ in their first dimension")
        }
        self.inputs = x
        self.targets = y
    }

    public var count: Int { inputs.shape[0] }
    public func example(at index: Int) -> (input: Tensor, target: Tensor) { (inputs[index], targets[index]) }
    public func batch(at indices: [Int]) -> Batch { tensorDataset.batch(at: indices) }
    public var tensorDataset: TensorDataset { TensorDataset(inputs: inputs, targets: targets) }
}
