import MyelinCore

/// What a dataset's targets are: class indices or real values.
///
/// (Named `LearningTask` so that `import Myelin` does not hide Swift's concurrency `Task`; inside
/// `CSVReader`, `TabularDataset` and `CatalogueDataset` it is spelled `Task`.)
public enum LearningTask: String, Codable, Sendable, CustomStringConvertible {
    /// Targets are int64 class indices `[n]`.
    case classification
    /// Targets are float32 values `[N, 1]`.
    case regression

    public var description: String { rawValue }
}

/// How a CSV file's columns were turned into features, saved with a model so that new files (such
/// as `myelin predict` input, which may lack the label column) are encoded exactly the same way.
public struct CSVSchema: Codable, Equatable, Sendable {
    /// How one feature column becomes numbers.
    public enum Encoding: Codable, Equatable, Sendable {
        /// The cell parsed as a number: one feature.
        case numeric
        /// One feature per category (`name=category`), 1 for the cell's category, 0 elsewhere.
        case oneHot(categories: [String])
        /// One feature: the category's index in `categories` (sorted).
        case label(categories: [String])
    }

    public struct Column: Codable, Equatable, Sendable {
        public var name: String
        public var encoding: Encoding
        /// Numeric columns: the value missing cells get, the median of the training file's values
        /// (nil in schemas saved before missing values were handled; such columns cannot be imputed).
        public var fill: Double?
        /// Numeric columns: true when the training file had gaps here, which adds the feature
        /// `name_missing` (1 where the cell was missing, else 0) right after the column's own.
        public var indicator: Bool?

        public init(name: String, encoding: Encoding, fill: Double? = nil, indicator: Bool? = nil) {
            self.name = name
            self.encoding = encoding
            self.fill = fill
            self.indicator = indicator
        }
        /// The features this column makes.
        public var featureNames: [String] {
            switch encoding {
            case .numeric: return indicator == true ? [name, name + "_missing"] : [name]
            case .label: return [name]
            case .oneHot(let categories): return categories.map { "\(name)=\($0)" }
            }
        }
        /// Whether missing cells have a training-time treatment (median with indicator, or the
        /// `(missing)` category); other gaps are imputed with a warning.
        var hadGaps: Bool {
            switch encoding {
            case .numeric: return indicator == true
            case .oneHot(let categories), .label(let categories): return categories.last == CSVParser.missingCategory
            }
        }
    }

    /// Feature columns in file order.
    public var columns: [Column]
    /// Name of the label column (nil when the training file had none).
    public var labelColumn: String?
    /// Position of the label column among all the training file's columns.
    public var labelPosition: Int?
    public var task: LearningTask
    /// Class names in class-index order (empty for regression).
    public var classNames: [String]
    public var hasHeader: Bool
    public var delimiter: String

    public init(columns: [Column], labelColumn: String?, labelPosition: Int?, task: LearningTask,
                classNames: [String], hasHeader: Bool, delimiter: String) {
        self.columns = columns
        self.labelColumn = labelColumn
        self.labelPosition = labelPosition
        self.task = task
        self.classNames = classNames
        self.hasHeader = hasHeader
        self.delimiter = delimiter
    }

    /// Names of the encoded features, in input order.
    public var featureNames: [String] { columns.flatMap(\.featureNames) }
}

/// A table read from a CSV file: float32 features and the label column as targets.
public struct TabularDataset: Dataset {
    public typealias Task = LearningTask

    /// float32 `[N, F]`.
    public let inputs: Tensor
    /// int64 `[n]` for classification, float32 `[N, 1]` for regression (zeros when the file had no label).
    public let targets: Tensor
    public let featureNames: [String]
    /// Class names by class index (empty for regression).
    public let classNames: [String]
    public let task: Task
    public let schema: CSVSchema
    /// False when the file had no label column (targets are then zeros).
    public let hasLabels: Bool
    /// What the reader decided and changed: task inference, dropped rows, imputed cells, warnings.
    public let report: CSVReadReport

    public init(inputs: Tensor, targets: Tensor, featureNames: [String], classNames: [String], task: Task,
                schema: CSVSchema, hasLabels: Bool = true, report: CSVReadReport = CSVReadReport()) {
        require(inputs.rank == 2 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                     "[tabularDataset] inputs \(inputs.shape) must be [N, F] and targets \(targets.shape) [N, ...]")
        self.inputs = inputs
        self.targets = targets
        self.featureNames = featureNames
        self.classNames = classNames
        self.task = task
        self.schema = schema
        self.hasLabels = hasLabels
        self.report = report
    }

    /// `report` as printable one-liners: how the task was chosen, what was dropped or imputed, warnings.
    public var notes: [String] { report.notes }

    public var count: Int { inputs.shape[0] }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) { (inputs[index], targets[index]) }

    public func batch(at indices: [Int]) -> Batch { tensorDataset.batch(at: indices) }

    /// Inputs and targets as a `TensorDataset`.
    public var tensorDataset: TensorDataset { TensorDataset(inputs: inputs, targets: targets) }
}

/// Reads CSV files into `TabularDataset`s: numeric columns as they are, string columns as
/// categories (one-hot by default, or label-encoded), the label column as class indices or values.
///
/// ```swift
/// let reader = CSVReader(label: .name("species"))
/// let train = try reader.read(path: "train.csv")
/// print(train.notes.joined(separator: "\n"))   // task choice, dropped rows, imputed cells
/// // later, for new data without the label column:
/// let new = try reader.read(path: "new.csv", schema: train.schema)
/// ```
///
/// Rules:
/// - header: `hasHeader` nil guesses: the first row is a header when some column is numeric below
///   it but not in it, or (all-text files) when no first-row value appears again in its column.
/// - cells are trimmed; `"..."` quoting with `""` escapes (and line breaks inside quotes) works.
/// - missing values are empty cells, `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL`, `?` and any cell that
///   parses to NaN. What happens to them is `missing`:
///   - `.error` throws naming the file, line and column of the first one.
///   - `.drop` leaves out every row with a missing cell (feature or label) and counts them.
///   - `.impute` (the default, like scikit-learn's `SimpleImputer(strategy="median", add_indicator=True)`)
///     leaves out rows whose label is missing; fills a numeric feature's gaps with the median of
///     that column's values in this file and adds the feature `name_missing` (1/0) right after it,
///     only for columns that have gaps; gives a text feature's gaps the category `(missing)`.
///     The median is taken over the whole file, before the caller splits off validation or test
///     rows, so those rows take part in it (a mild leak, as when imputing before splitting in pandas).
///     A feature column whose cells are all missing throws (remove it; it carries no information).
/// - with a schema (evaluate/predict time) the training file's treatment is applied again: numeric
///   gaps get the stored median (and indicator, when training had gaps there); text gaps the
///   `(missing)` category. A gap in a column that had none in training is still imputed (numeric:
///   the stored median, no indicator; text: no category, i.e. all-zero one-hot or -1 when
///   label-encoded) and a warning is recorded. Rows with a missing label are dropped (`.drop`,
///   `.impute`) and counted.
/// - a feature column is numeric when at least half its non-missing cells are numbers (the others
///   then throw "is not a number"), and categorical otherwise or when listed in `categorical`.
///   `inf`, `-Infinity`, `1e999` in a numeric column (feature or label) throw "is not a finite number".
/// - the task, unless given:
///   - text labels (fewer than 90% of the non-missing cells are numbers) mean classification;
///   - a mostly numeric label (at least 90% numbers) must be all finite numbers, else the first
///     other cell throws ("'abc' is not a number in label column 'price'");
///   - integer labels are classes when they look like codes: at most `maxInferredClasses` distinct
///     values, the smallest at least -1, and the range (max - min + 1) at most twice the number of
///     distinct values (0..9, 1..5, {-1, 1}, {0, 1}); otherwise (prices, counts such as
///     3, 5, 7, ..., 30) and for non-integer labels the task is regression.
///   The decision and how to override it is `report.taskReason`. Classes are sorted (numerically
///   for numbers).
/// - budgets, checked before the feature matrix is allocated: at most `maxFeatures` encoded features
///   when inferring (one-hot columns are named in the error), at most `maxCells` values
///   (rows × features, float32), and at most `maxCells / 4` cells while parsing (a parsed cell
///   costs about 25 bytes, a value 4), so that with the defaults a file needs well under 1 GB.
///   The file itself is held in memory while it is parsed: multi-hundred-megabyte files need that much more.
public struct CSVReader: Sendable {
    public typealias Task = LearningTask

    /// A column, by header name or by 0-based position (negative counts from the end: -1 is the last).
    public enum Column: Equatable, Sendable {
        case name(String)
        case index(Int)
    }

    /// How string-valued feature columns become numbers.
    public enum CategoricalEncoding: String, Codable, Sendable {
        case oneHot
        case label
    }

    /// What to do with missing values (see the type's documentation).
    public enum MissingPolicy: String, Codable, Sendable {
        /// Throw at the first missing cell.
        case error
        /// Leave out rows with any missing cell.
        case drop
        /// Leave out rows with a missing label; fill feature gaps (median + indicator, or `(missing)`).
        case impute
    }

    public var label: Column?
    public var hasHeader: Bool?
    public var delimiter: Character
    public var task: Task?
    public var categorical: [String]
    public var maxInferredClasses: Int
    public var categoricalEncoding: CategoricalEncoding
    public var missing: MissingPolicy
    /// Most encoded features a file may make when inferring a schema (one-hot expansion included).
    public var maxFeatures: Int
    /// Most values (rows × features, float32) a dataset may hold; a file may have at most a quarter
    /// as many cells (text cells cost more memory than floats).
    public var maxCells: Int

    public init(label: Column? = .index(-1), hasHeader: Bool? = nil, delimiter: Character = ",", task: Task? = nil,
                categorical: [String] = [], maxInferredClasses: Int = 20, categoricalEncoding: CategoricalEncoding = .oneHot,
                missing: MissingPolicy = .impute, maxFeatures: Int = 4096, maxCells: Int = 64 << 20) {
        self.label = label
        self.hasHeader = hasHeader
        self.delimiter = delimiter
        self.task = task
        self.categorical = categorical
        self.maxInferredClasses = maxInferredClasses
        self.categoricalEncoding = categoricalEncoding
        self.missing = missing
        self.maxFeatures = maxFeatures
        self.maxCells = maxCells
    }

    /// Reads `path` (gzipped files are detected). With `schema`, the file is encoded exactly as the
    /// file the schema came from: its columns are matched by name (or position without a header),
    /// the label column may be absent, and unseen categories or classes throw.
    public func read(path: String, schema: CSVSchema? = nil) throws -> TabularDataset {
        let records = try records(path: path)
        if let schema { return try readWithSchema(records, schema: schema, path: path) }
        return try readInferring(records, path: path)
    }

    /// The file's rows (gzip detected, a byte-order mark skipped); at least one.
    func records(path: String) throws -> [CSVParser.Record] {
        let bytes = try readMaybeGzipped(path, op: "csv")
        let text = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        let delimiterByte: UInt8
        if let d = delimiter.asciiValue { delimiterByte = d } else {
            throw DataError(op: "csv", file: path, reason: "delimiter '\(delimiter)' is not an ASCII character")
        }
        let records = try CSVParser.parse(text, delimiter: delimiterByte, path: path, maxCells: maxCells / 4)
        guard !records.isEmpty else { throw DataError(op: "csv", file: path, reason: "file has no rows") }
        return records
    }

    // MARK: inferring a schema

    private func readInferring(_ records: [CSVParser.Record], path: String) throws -> TabularDataset {
        let header = hasHeader ?? CSVParser.looksLikeHeader(records)
        let width = records[0].cells.count
        let names = header ? records[0].cells : (0..<width).map { "column\($0)" }
        var rows = header ? Array(records.dropFirst()) : records
        try checkNames(names, path: path)
        guard !rows.isEmpty else { throw DataError(op: "csv", file: path, reason: "file has a header but no data rows") }
        try checkWidths(rows, width: width, path: path)

        for name in categorical where !names.contains(name) {
            throw DataError(op: "csv", file: path, reason: "no categorical column '\(CSVParser.shown(name))' (columns: \(CSVParser.list(names)))")
        }
        var labelIndex: Int?
        if let label {
            switch label {
            case .name(let n):
                guard let i = names.firstIndex(of: n) else {
                    throw DataError(op: "csv", file: path, reason: "no label column '\(CSVParser.shown(n))' (columns: \(CSVParser.list(names)))")
                }
                labelIndex = i
            case .index(let i):
                let j = i < 0 ? width + i : i
                guard j >= 0 && j < width else {
                    throw DataError(op: "csv", file: path, reason: "label column index \(i) is out of range for \(width) columns")
                }
                labelIndex = j
            }
        }

        var report = CSVReadReport()
        let featurePositions = (0..<width).filter { $0 != labelIndex }
        rows = try applyMissingPolicy(rows, features: featurePositions.map { ($0, names[$0]) },
                                      label: labelIndex.map { ($0, names[$0]) }, path: path, report: &report)

        let plans = try featurePositions.map { try planColumn(rows, column: $0, name: names[$0], path: path) }
        try checkFeatureBudget(plans, rows: rows.count, path: path)
        let columns = plans.map { $0.schemaColumn(encoding: categoricalEncoding) }

        var resolvedTask = task ?? .classification
        var classNames: [String] = []
        if let l = labelIndex {
            (resolvedTask, classNames, report.taskReason) = try inferTask(rows, column: l, name: names[l], path: path)
        }
        let schema = CSVSchema(columns: columns, labelColumn: labelIndex.map { names[$0] }, labelPosition: labelIndex,
                               task: resolvedTask, classNames: classNames, hasHeader: header, delimiter: String(delimiter))
        return try encode(rows, schema: schema, featurePositions: featurePositions, labelPosition: labelIndex,
                          names: names, path: path, predicting: false, report: report)
    }

    // MARK: reading with a saved schema

    func readWithSchema(_ records: [CSVParser.Record], schema: CSVSchema, path: String) throws -> TabularDataset {
        let header = hasHeader ?? schema.hasHeader
        let width = records[0].cells.count
        var rows = header ? Array(records.dropFirst()) : records
        var featurePositions: [Int] = []
        var labelPosition: Int?
        let names: [String]
        if header {
            names = records[0].cells
            try checkNames(names, path: path)
            var missing: [String] = []
            for column in schema.columns {
                if let i = names.firstIndex(of: column.name) { featurePositions.append(i) } else { missing.append(column.name) }
            }
            guard missing.isEmpty else {
                throw DataError(op: "csv", file: path, reason: "missing column\(missing.count == 1 ? "" : "s") \(CSVParser.list(missing.map { "'\($0)'" })) of the schema (file has: \(CSVParser.list(names)))")
            }
            labelPosition = schema.labelColumn.flatMap { names.firstIndex(of: $0) }
        } else {
            let features = schema.columns.count
            names = (0..<width).map { "column\($0)" }
            if width == features {
                featurePositions = Array(0..<features)
            } else if width == features + 1, let l = schema.labelPosition, l <= features {
                labelPosition = l
                featurePositions = (0..<width).filter { $0 != l }
            } else {
                throw DataError(op: "csv", file: path, line: records[0].line,
                                reason: "row has \(width) cells, the schema needs \(features) features\(schema.labelPosition != nil ? " (or \(features + 1) with the label)" : "")")
            }
        }
        try checkWidths(rows, width: width, path: path)
        var report = CSVReadReport()
        rows = try applyMissingPolicy(rows, features: zip(featurePositions, schema.columns).map { ($0, $1.name) },
                                      label: labelPosition.map { ($0, names[$0]) }, path: path, report: &report)
        for (p, column) in zip(featurePositions, schema.columns) where column.encoding == .numeric {
            try checkNumeric(rows, column: p, name: column.name, path: path)
        }
        if let l = labelPosition, schema.task == .regression {
            try checkNumeric(rows, column: l, name: names[l], path: path, what: "label column")
        }
        return try encode(rows, schema: schema, featurePositions: featurePositions, labelPosition: labelPosition,
                          names: names, path: path, predicting: true, report: report)
    }

    // MARK: checks

    private func checkNames(_ names: [String], path: String) throws {
        var seen = Set<String>()
        for (i, n) in names.enumerated() {
            if n.isEmpty { throw DataError(op: "csv", file: path, line: 1, column: i + 1, reason: "empty column name in the header") }
            if !seen.insert(n).inserted {
                throw DataError(op: "csv", file: path, line: 1, column: i + 1, reason: "duplicate column name '\(CSVParser.shown(n))'")
            }
        }
    }

    private func checkWidths(_ rows: [CSVParser.Record], width: Int, path: String) throws {
        for r in rows where r.cells.count != width {
            throw DataError(op: "csv", file: path, line: r.line, reason: "row has \(r.cells.count) cell\(r.cells.count == 1 ? "" : "s"), expected \(width)")
        }
    }

    /// Every non-missing cell must be a finite number.
    func checkNumeric(_ rows: [CSVParser.Record], column: Int, name: String, path: String,
                      what: String = "numeric column") throws {
        for r in rows {
            let s = r.cells[column]
            if CSVParser.number(s) == nil && !CSVParser.isMissing(s) {
                throw notANumber(r, column: column, name: name, path: path, what: what)
            }
        }
    }

    func notANumber(_ r: CSVParser.Record, column: Int, name: String, path: String, what: String) -> DataError {
        let s = r.cells[column]
        let kind = CSVParser.isInfinite(s) ? "is not a finite number" : "is not a number"
        return DataError(op: "csv", file: path, line: r.line, column: column + 1,
                         reason: "'\(CSVParser.shown(s))' \(kind) in \(what) '\(CSVParser.shown(name))'")
    }
}
