import MyelinCore

/// What a dataset's targets are: class indices or real values.
///
/// (Named `LearningTask` so that `import Myelin` does not hide Swift's concurrency `Task`; inside
/// `CSVReader`, `TabularDataset` and `CatalogueDataset` it is spelled `Task`.)
public enum LearningTask: String, Codable, Sendable, CustomStringConvertible {
    /// Targets are int64 class indices `[N]`.
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
        public init(name: String, encoding: Encoding) {
            self.name = name
            self.encoding = encoding
        }
        /// The features this column makes.
        public var featureNames: [String] {
            switch encoding {
            case .numeric, .label: return [name]
            case .oneHot(let categories): return categories.map { "\(name)=\($0)" }
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
    /// int64 `[N]` for classification, float32 `[N, 1]` for regression (zeros when the file had no label).
    public let targets: Tensor
    public let featureNames: [String]
    /// Class names by class index (empty for regression).
    public let classNames: [String]
    public let task: Task
    public let schema: CSVSchema
    /// False when the file had no label column (targets are then zeros).
    public let hasLabels: Bool

    public init(inputs: Tensor, targets: Tensor, featureNames: [String], classNames: [String], task: Task,
                schema: CSVSchema, hasLabels: Bool = true) {
        precondition(inputs.rank == 2 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                     "[TabularDataset] inputs \(inputs.shape) must be [N, F] and targets \(targets.shape) [N, ...]")
        self.inputs = inputs
        self.targets = targets
        self.featureNames = featureNames
        self.classNames = classNames
        self.task = task
        self.schema = schema
        self.hasLabels = hasLabels
    }

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
/// // later, for new data without the label column:
/// let new = try reader.read(path: "new.csv", schema: train.schema)
/// ```
///
/// Rules:
/// - header: `hasHeader` nil guesses: the first row is a header when some column is numeric below
///   it but not in it, or (all-text files) when no first-row value appears again in its column.
/// - cells are trimmed; `"..."` quoting with `""` escapes (and line breaks inside quotes) works.
/// - empty cells and `NA`, `N/A`, `NaN`, `null`, `?` are missing values and throw with row and column.
/// - a feature column is numeric when at least half its cells are numbers (the others then throw
///   "is not a number"), and categorical otherwise or when listed in `categorical`.
/// - the task, unless given: classification for text labels or at most `maxInferredClasses`
///   distinct integer labels, regression otherwise. Classes are sorted (numerically for numbers).
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

    public var label: Column?
    public var hasHeader: Bool?
    public var delimiter: Character
    public var task: Task?
    public var categorical: [String]
    public var maxInferredClasses: Int
    public var categoricalEncoding: CategoricalEncoding

    public init(label: Column? = .index(-1), hasHeader: Bool? = nil, delimiter: Character = ",", task: Task? = nil,
                categorical: [String] = [], maxInferredClasses: Int = 20, categoricalEncoding: CategoricalEncoding = .oneHot) {
        self.label = label
        self.hasHeader = hasHeader
        self.delimiter = delimiter
        self.task = task
        self.categorical = categorical
        self.maxInferredClasses = maxInferredClasses
        self.categoricalEncoding = categoricalEncoding
    }

    /// Reads `path` (gzipped files are detected). With `schema`, the file is encoded exactly as the
    /// file the schema came from: its columns are matched by name (or position without a header),
    /// the label column may be absent, and unseen categories or classes throw.
    public func read(path: String, schema: CSVSchema? = nil) throws -> TabularDataset {
        let bytes = try readMaybeGzipped(path, op: "csv")
        let text = Array(bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...])
        let delimiterByte: UInt8
        if let d = delimiter.asciiValue { delimiterByte = d } else {
            throw DataError(op: "csv", file: path, reason: "delimiter '\(delimiter)' is not an ASCII character")
        }
        let records = try CSVParser.parse(text, delimiter: delimiterByte, path: path)
        guard !records.isEmpty else { throw DataError(op: "csv", file: path, reason: "file has no rows") }
        if let schema { return try readWithSchema(records, schema: schema, path: path) }
        return try readInferring(records, path: path)
    }

    // MARK: inferring a schema

    private func readInferring(_ records: [CSVParser.Record], path: String) throws -> TabularDataset {
        let header = hasHeader ?? CSVParser.looksLikeHeader(records)
        let width = records[0].cells.count
        let names = header ? records[0].cells : (0..<width).map { "column\($0)" }
        let rows = header ? Array(records.dropFirst()) : records
        try checkNames(names, path: path)
        guard !rows.isEmpty else { throw DataError(op: "csv", file: path, reason: "file has a header but no data rows") }
        try checkWidths(rows, width: width, path: path)

        for name in categorical where !names.contains(name) {
            throw DataError(op: "csv", file: path, reason: "no categorical column '\(name)' (columns: \(names.joined(separator: ", ")))")
        }
        var labelIndex: Int?
        if let label {
            switch label {
            case .name(let n):
                guard let i = names.firstIndex(of: n) else {
                    throw DataError(op: "csv", file: path, reason: "no label column '\(n)' (columns: \(names.joined(separator: ", ")))")
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

        var columns: [CSVSchema.Column] = []
        var featurePositions: [Int] = []
        for c in 0..<width where c != labelIndex {
            try checkMissing(rows, column: c, name: names[c], path: path)
            let cells = rows.map { $0.cells[c] }
            let numericCount = cells.reduce(0) { $0 + (CSVParser.number($1) != nil ? 1 : 0) }
            let encoding: CSVSchema.Encoding
            if !categorical.contains(names[c]) && numericCount * 2 >= cells.count {
                if numericCount < cells.count { try checkNumeric(rows, column: c, name: names[c], path: path) }
                encoding = .numeric
            } else {
                let categories = CSVParser.sortedCategories(cells)
                encoding = categoricalEncoding == .oneHot ? .oneHot(categories: categories) : .label(categories: categories)
            }
            columns.append(CSVSchema.Column(name: names[c], encoding: encoding))
            featurePositions.append(c)
        }

        var resolvedTask = task ?? .classification
        var classNames: [String] = []
        if let l = labelIndex {
            try checkMissing(rows, column: l, name: names[l], path: path)
            let cells = rows.map { $0.cells[l] }
            let numbers = cells.map(CSVParser.number)
            let allNumeric = numbers.allSatisfy { $0 != nil }
            if task == nil {
                let allIntegers = allNumeric && numbers.allSatisfy { $0! == $0!.rounded() && abs($0!) < 1e15 }
                resolvedTask = !allNumeric || (allIntegers && Set(numbers.map { $0! }).count <= maxInferredClasses)
                    ? .classification : .regression
            }
            if resolvedTask == .regression {
                if !allNumeric { try checkNumeric(rows, column: l, name: names[l], path: path, what: "label") }
            } else {
                classNames = CSVParser.sortedCategories(cells)
            }
        }
        let schema = CSVSchema(columns: columns, labelColumn: labelIndex.map { names[$0] }, labelPosition: labelIndex,
                               task: resolvedTask, classNames: classNames, hasHeader: header, delimiter: String(delimiter))
        return try encode(rows, schema: schema, featurePositions: featurePositions, labelPosition: labelIndex,
                          names: names, path: path)
    }

    // MARK: reading with a saved schema

    private func readWithSchema(_ records: [CSVParser.Record], schema: CSVSchema, path: String) throws -> TabularDataset {
        let header = hasHeader ?? schema.hasHeader
        let width = records[0].cells.count
        let rows = header ? Array(records.dropFirst()) : records
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
                throw DataError(op: "csv", file: path, reason: "missing column\(missing.count == 1 ? "" : "s") \(missing.map { "'\($0)'" }.joined(separator: ", ")) of the schema (file has: \(names.joined(separator: ", ")))")
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
        for (p, column) in zip(featurePositions, schema.columns) {
            try checkMissing(rows, column: p, name: column.name, path: path)
            if column.encoding == .numeric { try checkNumeric(rows, column: p, name: column.name, path: path) }
        }
        if let l = labelPosition {
            try checkMissing(rows, column: l, name: names[l], path: path)
            if schema.task == .regression { try checkNumeric(rows, column: l, name: names[l], path: path, what: "label") }
        }
        return try encode(rows, schema: schema, featurePositions: featurePositions, labelPosition: labelPosition,
                          names: names, path: path)
    }

    // MARK: checks and encoding

    private func checkNames(_ names: [String], path: String) throws {
        var seen = Set<String>()
        for (i, n) in names.enumerated() {
            if n.isEmpty { throw DataError(op: "csv", file: path, line: 1, column: i + 1, reason: "empty column name in the header") }
            if !seen.insert(n).inserted {
                throw DataError(op: "csv", file: path, line: 1, column: i + 1, reason: "duplicate column name '\(n)'")
            }
        }
    }

    private func checkWidths(_ rows: [CSVParser.Record], width: Int, path: String) throws {
        for r in rows where r.cells.count != width {
            throw DataError(op: "csv", file: path, line: r.line, reason: "row has \(r.cells.count) cell\(r.cells.count == 1 ? "" : "s"), expected \(width)")
        }
    }

    private func checkMissing(_ rows: [CSVParser.Record], column: Int, name: String, path: String) throws {
        for r in rows where CSVParser.isMissing(r.cells[column]) {
            let shown = r.cells[column].isEmpty ? "empty cell" : "missing value '\(r.cells[column])'"
            throw DataError(op: "csv", file: path, line: r.line, column: column + 1, reason: "\(shown) in column '\(name)'")
        }
    }

    private func checkNumeric(_ rows: [CSVParser.Record], column: Int, name: String, path: String,
                              what: String = "numeric column") throws {
        for r in rows where CSVParser.number(r.cells[column]) == nil {
            throw DataError(op: "csv", file: path, line: r.line, column: column + 1,
                            reason: "'\(r.cells[column])' is not a number in \(what) '\(name)'")
        }
    }

    private func encode(_ rows: [CSVParser.Record], schema: CSVSchema, featurePositions: [Int], labelPosition: Int?,
                        names: [String], path: String) throws -> TabularDataset {
        let n = rows.count
        let featureCount = schema.columns.reduce(0) { $0 + $1.featureNames.count }
        var values = [Float](repeating: 0, count: n * featureCount)
        var offset = 0
        for (column, p) in zip(schema.columns, featurePositions) {
            switch column.encoding {
            case .numeric:
                for (r, row) in rows.enumerated() { values[r * featureCount + offset] = Float(CSVParser.number(row.cells[p])!) }
                offset += 1
            case .oneHot(let categories), .label(let categories):
                var index: [String: Int] = [:]
                for (i, c) in categories.enumerated() { index[c] = i }
                let isOneHot: Bool
                if case .oneHot = column.encoding { isOneHot = true } else { isOneHot = false }
                for (r, row) in rows.enumerated() {
                    guard let i = index[row.cells[p]] else {
                        throw DataError(op: "csv", file: path, line: row.line, column: p + 1,
                                        reason: "unseen category '\(row.cells[p])' in column '\(column.name)' (known: \(categories.joined(separator: ", ")))")
                    }
                    if isOneHot { values[r * featureCount + offset + i] = 1 } else { values[r * featureCount + offset] = Float(i) }
                }
                offset += isOneHot ? categories.count : 1
            }
        }
        let inputs = Tensor(shape: [n, featureCount], scalars: values)
        let targets: Tensor
        if let l = labelPosition {
            if schema.task == .regression {
                targets = Tensor(shape: [n, 1], scalars: rows.map { Float(CSVParser.number($0.cells[l])!) })
            } else {
                var index: [String: Int64] = [:]
                for (i, c) in schema.classNames.enumerated() { index[c] = Int64(i) }
                var labels: [Int64] = []
                labels.reserveCapacity(n)
                for row in rows {
                    guard let i = index[row.cells[l]] else {
                        throw DataError(op: "csv", file: path, line: row.line, column: l + 1,
                                        reason: "unseen class '\(row.cells[l])' in label column '\(names[l])' (known: \(schema.classNames.joined(separator: ", ")))")
                    }
                    labels.append(i)
                }
                targets = Tensor(shape: [n], scalars: labels)
            }
        } else {
            targets = schema.task == .regression ? Tensor.zeros([n, 1]) : Tensor.zeros([n], dtype: .int64)
        }
        return TabularDataset(inputs: inputs, targets: targets, featureNames: schema.featureNames,
                              classNames: schema.classNames, task: schema.task, schema: schema, hasLabels: labelPosition != nil)
    }
}

/// RFC 4180-style splitting of bytes into records of trimmed cells.
enum CSVParser {
    struct Record {
        /// 1-based line where the record starts.
        let line: Int
        let cells: [String]
    }

    static func parse(_ bytes: [UInt8], delimiter: UInt8, path: String) throws -> [Record] {
        var records: [Record] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var quoteLine = 0
        var wasQuoted = false
        var i = 0
        let n = bytes.count
        func endCell() {
            let s = String(decoding: cell, as: UTF8.self)
            cells.append(wasQuoted ? s : s.trimmingSpaces())
            cell.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func endRecord() {
            endCell()
            if !(cells.count == 1 && cells[0].isEmpty) { records.append(Record(line: recordLine, cells: cells)) }
            cells.removeAll(keepingCapacity: true)
        }
        while i < n {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") { cell.append(b); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    cell.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                if cell.allSatisfy({ $0 == 32 || $0 == 9 }) {
                    cell.removeAll()
                    inQuotes = true
                    wasQuoted = true
                    quoteLine = line
                } else {
                    cell.append(b)
                }
            case delimiter:
                endCell()
            case UInt8(ascii: "\n"):
                endRecord()
                line += 1
                recordLine = line
            case UInt8(ascii: "\r"):
                break
            default:
                if wasQuoted && b != 32 && b != 9 {
                    throw DataError(op: "csv", file: path, line: line, column: cells.count + 1,
                                    reason: "text after the closing quote of a quoted cell")
                }
                if !wasQuoted { cell.append(b) }
            }
            i += 1
        }
        if inQuotes { throw DataError(op: "csv", file: path, line: quoteLine, column: cells.count + 1, reason: "quote is never closed") }
        if !cell.isEmpty || !cells.isEmpty || wasQuoted { endRecord() }
        return records
    }

    static let missingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]

    static func isMissing(_ s: String) -> Bool { missingMarkers.contains(s) }

    /// The cell as a finite number (decimal or scientific notation), or nil.
    static func number(_ s: String) -> Double? {
        guard !s.isEmpty, let first = s.utf8.first,
              first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (48...57).contains(first),
              let v = Double(s), v.isFinite else { return nil }
        return v
    }

    /// Distinct values, sorted numerically when all are numbers, else as strings.
    static func sortedCategories(_ cells: [String]) -> [String] {
        let distinct = Array(Set(cells))
        if distinct.allSatisfy({ number($0) != nil }) {
            return distinct.sorted { (number($0)!, $0) < (number($1)!, $1) }
        }
        return distinct.sorted()
    }

    static func looksLikeHeader(_ records: [Record]) -> Bool {
        guard records.count >= 2 else { return records.first.map { $0.cells.allSatisfy { number($0) == nil } } ?? false }
        let first = records[0].cells
        let rest = records.dropFirst()
        var sawNumericColumn = false
        for c in first.indices {
            let below = rest.compactMap { $0.cells.count > c ? $0.cells[c] : nil }.filter { !isMissing($0) }
            guard !below.isEmpty else { continue }
            if below.allSatisfy({ number($0) != nil }) {
                sawNumericColumn = true
                if number(first[c]) == nil && !isMissing(first[c]) { return true }
            }
        }
        if sawNumericColumn { return false }
        // All-text file: a header's values do not occur again in their columns.
        for c in first.indices {
            if first[c].isEmpty { return false }
            if rest.contains(where: { $0.cells.count > c && $0.cells[c] == first[c] }) { return false }
        }
        return true
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
