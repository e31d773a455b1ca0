/// Deciding how each feature column is encoded, and the feature and cell budgets that keep the
/// encoded matrix small enough to allocate.
extension CSVReader {
    /// One feature column as seen in the training rows, before categories are sorted.
    struct ColumnPlan {
        enum Kind {
            case numeric(median: Double)
            case categorical(distinct: Set<String>)
        }
        let name: String
        let kind: Kind
        /// Missing cells in the column.
        let gaps: Int

        var isCategorical: Bool {
            if case .categorical = kind { return true }
            return false
        }

        /// Encoded features this column makes.
        func featureCount(_ encoding: CategoricalEncoding) -> Int {
            switch kind {
            case .numeric: return gaps > 0 ? 2 : 1
            case .categorical(let distinct):
                guard encoding == .oneHot else { return 1 }
                return distinct.count + (gaps > 0 && !distinct.contains(CSVParser.missingCategory) ? 1 : 0)
            }
        }

        func schemaColumn(encoding: CategoricalEncoding) -> CSVSchema.Column {
            switch kind {
            case .numeric(let median):
                return CSVSchema.Column(name: name, encoding: .numeric, fill: median, indicator: gaps > 0)
            case .categorical(let distinct):
                var categories = CSVParser.sortedCategories(distinct.subtracting([CSVParser.missingCategory]))
                if gaps > 0 || distinct.contains(CSVParser.missingCategory) { categories.append(CSVParser.missingCategory) }
                return CSVSchema.Column(name: name, encoding: encoding == .oneHot ? .oneHot(categories: categories) : .label(categories: categories))
            }
        }
    }

    /// Numeric (at least half the non-missing cells are numbers, infinities included, and the column
    /// is not listed in `categorical`) with the median of its values, or categorical with its values.
    func planColumn(_ rows: [CSVParser.Record], column c: Int, name: String, path: String) throws -> ColumnPlan {
        var present = 0
        var numberLike = 0
        for r in rows {
            let s = r.cells[c]
            if CSVParser.isMissing(s) { continue }
            present += 1
            if CSVParser.number(s) != nil || CSVParser.isInfinite(s) { numberLike += 1 }
        }
        guard present > 0 else {
            throw DataError(op: "csv", file: path, reason: "column '\(CSVParser.shown(name))' (column \(c + 1)) has no values: all \(plural(rows.count, "cell")) are missing; remove it")
        }
        let gaps = rows.count - present
        if !categorical.contains(name) && numberLike * 2 >= present {
            var values: [Double] = []
            values.reserveCapacity(present)
            for r in rows {
                let s = r.cells[c]
                if let v = CSVParser.number(s) { values.append(v) } else if !CSVParser.isMissing(s) {
                    throw notANumber(r, column: c, name: name, path: path, what: "numeric column")
                }
            }
            return ColumnPlan(name: name, kind: .numeric(median: median(values)), gaps: gaps)
        }
        var distinct = Set<String>()
        for r in rows where !CSVParser.isMissing(r.cells[c]) { distinct.insert(r.cells[c]) }
        return ColumnPlan(name: name, kind: .categorical(distinct: distinct), gaps: gaps)
    }

    /// Throws when the planned columns would make more than `maxFeatures` features (naming the
    /// one-hot columns with the most categories) or more than `maxCells` values.
    func checkFeatureBudget(_ plans: [ColumnPlan], rows: Int, path: String) throws {
        let counts = plans.map { $0.featureCount(categoricalEncoding) }
        let total = counts.reduce(0, +)
        if total > maxFeatures {
            let wide = plans.indices.filter { plans[$0].isCategorical && counts[$0] > 1 }.sorted { (counts[$0], -$0) > (counts[$1], -$1) }
            guard categoricalEncoding == .oneHot, !wide.isEmpty else {
                throw DataError(op: "csv", file: path,
                                reason: "the file would make \(total.grouped) features (limit \(maxFeatures.grouped)); drop columns or raise maxFeatures")
            }
            // The widest columns whose removal would bring the count within the limit.
            var blamed: [Int] = []
            var remaining = total
            for i in wide where remaining > maxFeatures {
                blamed.append(i)
                remaining -= counts[i] - 1
            }
            let head = "one-hot encoding would make \(total.grouped) features (limit \(maxFeatures.grouped))"
            if blamed.count == 1 {
                let i = blamed[0]
                throw DataError(op: "csv", file: path,
                                reason: "\(head): column '\(CSVParser.shown(plans[i].name))' has \(counts[i].grouped) categories; use --categorical-encoding label or drop the column")
            }
            let named = blamed.prefix(3).map { "'\(CSVParser.shown(plans[$0].name))' (\(counts[$0].grouped) categories)" }
            let more = blamed.count > 3 ? " and \(blamed.count - 3) more" : ""
            throw DataError(op: "csv", file: path,
                            reason: "\(head): columns \(named.joined(separator: ", "))\(more); use --categorical-encoding label or drop them")
        }
        try checkCellBudget(rows: rows, features: total, path: path)
    }

    /// Throws when `rows × features` float32 values exceed `maxCells`.
    func checkCellBudget(rows: Int, features: Int, path: String) throws {
        let (cells, overflow) = rows.multipliedReportingOverflow(by: features)
        if overflow || cells > maxCells {
            throw DataError(op: "csv", file: path,
                            reason: "\(plural(rows, "row")) × \(plural(features, "feature")) = \(overflow ? "too many" : cells.grouped) values (limit \(maxCells.grouped)); use fewer rows or columns, or raise maxCells")
        }
    }
}
