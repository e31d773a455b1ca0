/// RFC 4180-style splitting of bytes into records of trimmed cells, and what a cell means
/// (number, missing value, infinity).
enum CSVParser {
    struct Record {
        /// 1-based line where the record starts.
        let line: Int
        let cells: [String]
    }

    static func parse(_ bytes: [UInt8], delimiter: UInt8, path: String, maxCells: Int = .max) throws -> [Record] {
        try parse(bytes[...], delimiter: delimiter, path: path, maxCells: maxCells)
    }

    /// Splits `bytes` into records. Throws once the file holds more than `maxCells` cells, so that a
    /// huge file fails before its cells fill memory (a parsed cell costs about 25 bytes).
    static func parse(_ bytes: ArraySlice<UInt8>, delimiter: UInt8, path: String, maxCells: Int = .max) throws -> [Record] {
        var records: [Record] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var quoteLine = 0
        var wasQuoted = false
        var totalCells = 0
        var i = bytes.startIndex
        let n = bytes.endIndex
        func endCell() {
            let s = String(decoding: cell, as: UTF8.self)
            cells.append(wasQuoted ? s : s.trimmingSpaces())
            cell.removeAll(keepingCapacity: true)
            wasQuoted = false
            totalCells += 1
        }
        func endRecord() throws {
            endCell()
            if !(cells.count == 1 && cells[0].isEmpty) { records.append(Record(line: recordLine, cells: cells)) }
            cells.removeAll(keepingCapacity: true)
            if totalCells > maxCells {
                throw DataError(op: "csv", file: path, line: recordLine,
                                reason: "file has more than \(maxCells.grouped) cells (limit maxCells / 4); split it or raise maxCells")
            }
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
                try endRecord()
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
        if !cell.isEmpty || !cells.isEmpty || wasQuoted { try endRecord() }
        return records
    }

    /// Cells that mean "no value" (besides any cell that parses to NaN, such as `-nan`).
    static let missingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]

    /// The category that missing cells of a text column become (parentheses: no clash with a real
    /// value in practice; a cell literally reading `(missing)` joins it, which means the same).
    static let missingCategory = "(missing)"

    static func isMissing(_ s: String) -> Bool {
        if missingMarkers.contains(s) { return true }
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first | 0x20 == UInt8(ascii: "n")
        else { return false }
        return Double(s)?.isNaN ?? false
    }

    /// The cell as a finite number (decimal or scientific notation), or nil.
    static func number(_ s: String) -> Double? {
        guard !s.isEmpty, let first = s.utf8.first,
              first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (48...57).contains(first),
              let v = Double(s), v.isFinite else { return nil }
        return v
    }

    /// True for `inf`, `-Infinity`, `1e999` and the like: numbers, but not finite ones.
    static func isInfinite(_ s: String) -> Bool {
        guard let first = s.utf8.first,
              first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || (48...57).contains(first) || first | 0x20 == UInt8(ascii: "i")
        else { return false }
        return Double(s)?.isInfinite ?? false
    }

    /// Distinct values, sorted numerically when all are numbers, else as strings.
    static func sortedCategories<S: Sequence>(_ cells: S) -> [String] where S.Element == String {
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

    // MARK: showing cells in messages

    /// A cell for a message: cut to `limit` characters with `…` (control characters are escaped
    /// later, by `DataError.description`).
    static func shown(_ s: String, limit: Int = 40) -> String {
        s.count <= limit ? s : String(s.prefix(limit)) + "…"
    }

    /// Names for a message: at most `limit` of them, each `shown`, then how many more.
    static func list(_ names: [String], limit: Int = 12) -> String {
        let head = names.prefix(limit).map { shown($0) }.joined(separator: ", ")
        return names.count > limit ? head + ", … (\(names.count - limit) more)" : head
    }
}


/// A value for a message: integers without `.0`.
func formatted(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    return "\(v)"
}

func plural(_ n: Int, _ word: String) -> String { "\(n.grouped) \(word)\(n == 1 ? "" : "s")" }

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
