/// Choosing classification or regression from the label column (rules in `CSVReader`'s documentation).
extension CSVReader {
    /// The task, the class names (classification) and a sentence saying why and how to override it.
    /// `rows` have no missing label any more.
    func inferTask(_ rows: [CSVParser.Record], column l: Int, name: String,
                   path: String) throws -> (task: Task, classNames: [String], reason: String) {
        let cells = rows.map { $0.cells[l] }
        let quoted = "'\(CSVParser.shown(name))'"
        if let task {
            if task == .regression {
                try checkNumeric(rows, column: l, name: name, path: path, what: "label column")
                return (.regression, [], "regression: given (label \(quoted))")
            }
            let classes = CSVParser.sortedCategories(cells)
            return (.classification, classes, "classification: given (label \(quoted), \(classCount(classes.count)))")
        }
        var values: [Double] = []
        values.reserveCapacity(cells.count)
        var infinite = 0
        for s in cells {
            if let v = CSVParser.number(s) { values.append(v) } else if CSVParser.isInfinite(s) { infinite += 1 }
        }
        // Text labels: fewer than 90% of the cells are numbers.
        if (values.count + infinite) * 10 < cells.count * 9 {
            let classes = CSVParser.sortedCategories(cells)
            return (.classification, classes, "classification: label \(quoted) is text (\(classCount(classes.count)))")
        }
        if values.count < cells.count {
            try checkNumeric(rows, column: l, name: name, path: path, what: "label column")
        }
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e15 }) else {
            return (.regression, [], "regression: label \(quoted) has non-integer values")
        }
        let distinct = Set(values)
        let lo = distinct.min()!, hi = distinct.max()!
        let k = distinct.count
        if k > maxInferredClasses {
            return (.regression, [], "regression: label \(quoted) has \(k.grouped) distinct integer values, more than maxInferredClasses \(maxInferredClasses) (override with --task classification)")
        }
        if lo >= -1 && hi - lo + 1 <= Double(2 * k) {
            return (.classification, CSVParser.sortedCategories(cells),
                    "classification: label \(quoted) has \(k) integer \(k == 1 ? "class" : "classes") \(formatted(lo))..\(formatted(hi)) (override with --task regression)")
        }
        return (.regression, [], "regression: label \(quoted) has \(k.grouped) distinct integer values from \(formatted(lo)) to \(formatted(hi)), which look like quantities, not class codes (override with --task classification)")
    }

    private func classCount(_ n: Int) -> String { "\(n.grouped) \(n == 1 ? "class" : "classes")" }
}
