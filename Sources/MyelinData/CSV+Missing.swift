/// Applying `CSVReader.MissingPolicy` to rows before anything is inferred or encoded.
extension CSVReader {
    /// The rows that remain under `missing`: all of them (`.error`, which throws at the first gap,
    /// features in file order before the label), those without any gap (`.drop`), those with a label
    /// (`.impute`). Dropped rows are counted in `report`; throws when no row is left.
    func applyMissingPolicy(_ rows: [CSVParser.Record], features: [(position: Int, name: String)],
                            label: (position: Int, name: String)?, path: String,
                            report: inout CSVReadReport) throws -> [CSVParser.Record] {
        switch missing {
        case .error:
            for f in features { try checkMissing(rows, column: f.position, name: f.name, path: path) }
            if let label { try checkMissing(rows, column: label.position, name: label.name, path: path) }
            return rows
        case .drop:
            let columns = features + (label.map { [$0] } ?? [])
            var gaps = [Int](repeating: 0, count: columns.count)
            let kept = rows.filter { row in
                var keep = true
                for (i, c) in columns.enumerated() where CSVParser.isMissing(row.cells[c.position]) {
                    gaps[i] += 1
                    keep = false
                }
                return keep
            }
            let dropped = rows.count - kept.count
            guard !kept.isEmpty else {
                throw DataError(op: "csv", file: path, reason: "no rows left: all \(plural(rows.count, "row")) have missing values (missing policy drop; try impute)")
            }
            if dropped > 0 {
                let worst = columns.indices.filter { gaps[$0] > 0 }.sorted { (gaps[$0], -$0) > (gaps[$1], -$1) }
                let shown = worst.prefix(5).map { "'\(CSVParser.shown(columns[$0].name))' \(gaps[$0].grouped)" }
                let more = worst.count > 5 ? ", … (\(worst.count - 5) more columns)" : ""
                report.droppedRows += dropped
                report.actions.append("dropped \(plural(dropped, "row")) with missing values (missing cells: \(shown.joined(separator: ", "))\(more))")
            }
            return kept
        case .impute:
            guard let label else { return rows }
            let kept = rows.filter { !CSVParser.isMissing($0.cells[label.position]) }
            let dropped = rows.count - kept.count
            guard !kept.isEmpty else {
                throw DataError(op: "csv", file: path, reason: "no rows left: all \(plural(rows.count, "row")) have a missing label '\(CSVParser.shown(label.name))'")
            }
            if dropped > 0 {
                report.droppedRows += dropped
                report.actions.append("dropped \(plural(dropped, "row")) whose label '\(CSVParser.shown(label.name))' is missing")
            }
            return kept
        }
    }

    func checkMissing(_ rows: [CSVParser.Record], column: Int, name: String, path: String) throws {
        for r in rows where CSVParser.isMissing(r.cells[column]) {
            throw missingCell(r, column: column, name: name, path: path)
        }
    }

    func missingCell(_ r: CSVParser.Record, column: Int, name: String, path: String, why: String = "") -> DataError {
        let s = r.cells[column]
        let shown = s.isEmpty ? "empty cell" : "missing value '\(CSVParser.shown(s))'"
        return DataError(op: "csv", file: path, line: r.line, column: column + 1, reason: "\(shown) in column '\(CSVParser.shown(name))'\(why)")
    }
}

/// The median of `values` (not empty): the middle value, or the mean of the two middle ones.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
