extension CSVReader {
    /// Reads a CSV file of numeric features for a model trained on a table that came without a
    /// CSV schema (a catalogue set such as iris or wine, or a generated 2-D set): the new flowers to
    /// classify, say.
    ///
    /// With a header (guessed unless `hasHeader` says), the feature columns are found by name,
    /// compared without case, spaces or punctuation and with or without a unit in parentheses
    /// (`sepal_length` or `SepalLengthCm` finds scikit-learn's `sepal length (cm)`), in any order;
    /// one more column is the label. Without a
    /// header, the first `featureNames.count` columns are the features and one more is the label.
    /// Labels are class names or class indices (as the catalogue's files store them); the file may have none.
    ///
    /// ```swift
    /// let flowers = try CSVReader().readFeatures(path: "new.csv", featureNames: irisFeatures,
    ///                                            classNames: ["setosa", "versicolor", "virginica"], task: .classification)
    /// ```
    public func readFeatures(path: String, featureNames: [String], classNames: [String], task: LearningTask) throws -> TabularDataset {
        var records = try records(path: path)
        let header = hasHeader ?? CSVParser.looksLikeHeader(records)
        var columns = featureNames
        var label = "target"
        if header {
            let names = records[0].cells
            let exact = Set(names)
            let byKey = Dictionary(names.map { (Self.matchKey($0, unit: true), $0) }, uniquingKeysWith: { first, _ in first })
            var missing: [String] = []
            // A column of the feature's own name first; the loose comparison only for the others.
            columns = featureNames.map { feature in
                if exact.contains(feature) { return feature }
                if let found = byKey[Self.matchKey(feature, unit: false)] ?? byKey[Self.matchKey(feature, unit: true)] { return found }
                missing.append(feature)
                return feature
            }
            guard missing.isEmpty else {
                throw DataError(op: "csv", file: path, line: records[0].line, reason:
                    "no column for the feature\(missing.count == 1 ? "" : "s") \(CSVParser.list(missing.map { "'\($0)'" })) (file has: "
                    + "\(CSVParser.list(names))); name the columns as in training, or leave out the header to read them by position")
            }
            // Two features found in one column (names that differ only in punctuation): never guess.
            var taken: [String: String] = [:]
            for (feature, column) in zip(featureNames, columns) {
                if let other = taken.updateValue(feature, forKey: column) {
                    throw DataError(op: "csv", file: path, line: records[0].line, reason:
                        "the features '\(CSVParser.shown(other))' and '\(CSVParser.shown(feature))' both match the column "
                        + "'\(CSVParser.shown(column))'; name the columns exactly as in training")
                }
            }
            // `taken` holds the feature columns: a bag of words has thousands of them.
            let others = names.filter { taken[$0] == nil }
            guard others.count <= 1 else {
                throw DataError(op: "csv", file: path, line: records[0].line, reason:
                    "columns \(CSVParser.list(others.map { "'\(CSVParser.shown($0))'" })) besides the \(featureNames.count) features: at most one more, the label")
            }
            if let l = others.first { label = l }
        }
        // No fill values: the run kept none (indicator false, unlike a schema from before imputation, nil).
        let schema = CSVSchema(columns: columns.map { CSVSchema.Column(name: $0, encoding: .numeric, indicator: false) }, labelColumn: label,
                               labelPosition: featureNames.count, task: task, classNames: classNames, hasHeader: header,
                               delimiter: String(delimiter))
        // Labels may be class indices, as the catalogue's own files store them (iris.csv: 0, 1, 2).
        let labelIndex = header ? records[0].cells.firstIndex(of: label) : featureNames.count
        if task == .classification, let labelIndex {
            let known = Set(classNames)
            for r in (header ? 1 : 0)..<records.count where labelIndex < records[r].cells.count {
                let cell = records[r].cells[labelIndex]
                if !known.contains(cell), let v = CSVParser.number(cell), v.rounded() == v, v >= 0, v < Double(classNames.count) {
                    var cells = records[r].cells
                    cells[labelIndex] = classNames[Int(v)]
                    records[r] = CSVParser.Record(line: records[r].line, cells: cells)
                }
            }
        }
        var reader = self
        reader.hasHeader = header
        return try reader.readWithSchema(records, schema: schema, path: path)
    }

    /// A column name as `readFeatures` compares it: lower case, letters and digits only, with or
    /// without what is in parentheses. A feature "sepal length (cm)" is then found as
    /// "sepal_length", "Sepal Length (cm)" or "SepalLengthCm".
    static func matchKey(_ name: String, unit: Bool) -> String {
        var depth = 0
        var key = ""
        for c in name.lowercased() {
            if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) } else if (unit || depth == 0) && (c.isLetter || c.isNumber) { key.append(c) }
        }
        return key
    }
}
