import MyelinCore

/// Turning checked rows into the feature matrix and targets, filling in missing cells.
extension CSVReader {
    /// Encodes `rows` (already checked: numeric cells are finite numbers or missing, labels present)
    /// with `schema`. Missing feature cells are imputed as the schema says; `predicting` marks a
    /// file read with a saved schema, where gaps in columns that had none in training are warned about.
    func encode(_ rows: [CSVParser.Record], schema: CSVSchema, featurePositions: [Int], labelPosition: Int?,
                names: [String], path: String, predicting: Bool, report: CSVReadReport) throws -> TabularDataset {
        var report = report
        let n = rows.count
        let featureCount = schema.columns.reduce(0) { $0 + $1.featureNames.count }
        try checkCellBudget(rows: n, features: featureCount, path: path)
        var values = [Float](repeating: 0, count: n * featureCount)
        var offset = 0
        for (column, p) in zip(schema.columns, featurePositions) {
            let name = "'\(CSVParser.shown(column.name))'"
            var gaps = 0
            switch column.encoding {
            case .numeric:
                let hasIndicator = column.indicator == true
                for (r, row) in rows.enumerated() {
                    if let v = CSVParser.number(row.cells[p]) {
                        values[r * featureCount + offset] = Float(v)
                        continue
                    }
                    guard let fill = column.fill else {
                        throw missingCell(row, column: p, name: column.name, path: path, why: column.indicator == nil
                                          ? " (the schema has no fill value for it: it was saved by an older version; retrain to impute)"
                                          : " (the run keeps no fill values for its features: give every one)")
                    }
                    values[r * featureCount + offset] = Float(fill)
                    if hasIndicator { values[r * featureCount + offset + 1] = 1 }
                    gaps += 1
                }
                if gaps > 0, let fill = column.fill {
                    let cells = plural(gaps, "missing cell")
                    if hasIndicator {
                        report.actions.append("imputed \(cells) in \(name) with the\(predicting ? " training" : "") median \(formatted(fill)) (+ indicator \(CSVParser.shown(column.name))_missing)")
                    } else {
                        report.warnings.append("\(name) had no missing values in training: imputed \(cells) with the training median \(formatted(fill)) (no indicator)")
                    }
                }
                offset += hasIndicator ? 2 : 1
            case .oneHot(let categories), .label(let categories):
                var index: [String: Int] = [:]
                for (i, c) in categories.enumerated() { index[c] = i }
                let missingIndex = index[CSVParser.missingCategory]
                let isOneHot: Bool
                if case .oneHot = column.encoding { isOneHot = true } else { isOneHot = false }
                for (r, row) in rows.enumerated() {
                    let cell = row.cells[p]
                    var i: Int
                    if CSVParser.isMissing(cell) {
                        gaps += 1
                        guard let m = missingIndex else {
                            // No category for gaps: all-zero one-hot, or -1 when label-encoded.
                            if !isOneHot { values[r * featureCount + offset] = -1 }
                            continue
                        }
                        i = m
                    } else if let known = index[cell] {
                        i = known
                    } else {
                        throw DataError(op: "csv", file: path, line: row.line, column: p + 1,
                                        reason: "unseen category '\(CSVParser.shown(cell))' in column \(name) (known: \(CSVParser.list(categories)))")
                    }
                    if isOneHot { values[r * featureCount + offset + i] = 1 } else { values[r * featureCount + offset] = Float(i) }
                }
                if gaps > 0 {
                    let cells = plural(gaps, "missing cell")
                    if column.hadGaps {
                        report.actions.append("filled \(cells) in \(name) with the category '\(CSVParser.missingCategory)'")
                    } else if missingIndex != nil {
                        report.warnings.append("\(name) had no missing values in training: filled \(cells) with its category '\(CSVParser.missingCategory)'")
                    } else {
                        report.warnings.append("\(name) had no missing values in training: \(cells) encoded as no category (\(isOneHot ? "all-zero one-hot" : "label -1"))")
                    }
                }
                offset += isOneHot ? categories.count : 1
            }
            if gaps > 0 { report.imputedColumns.append(column.name) }
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
                                        reason: "unseen class '\(CSVParser.shown(row.cells[l]))' in label column '\(CSVParser.shown(names[l]))' (known: \(CSVParser.list(schema.classNames)))")
                    }
                    labels.append(i)
                }
                targets = Tensor(shape: [n], scalars: labels)
            }
        } else {
            targets = schema.task == .regression ? Tensor.zeros([n, 1]) : Tensor.zeros([n], dtype: .int64)
        }
        return TabularDataset(inputs: inputs, targets: targets, featureNames: schema.featureNames,
                              classNames: schema.classNames, task: schema.task, schema: schema,
                              hasLabels: labelPosition != nil, report: report)
    }
}
