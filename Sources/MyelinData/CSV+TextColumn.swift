/// A CSV file's text column and label column as strings: the data of a sequence classifier
/// (`myelin train --csv FILE --text-column COL --label COL --model lstm`).
///
/// ```swift
/// let (texts, labels) = try CSVTextColumns.read(path: "reviews.csv", text: "review", label: "sentiment")
/// ```
public enum CSVTextColumns {
    /// The cells of the two columns (names, or 0-based indices), one pair per data row; the first
    /// row is the header. Throws `DataError` naming the file, the line or the missing column.
    public static func read(path: String, text: String, label: String) throws -> (texts: [String], labels: [String]) {
        let bytes = try readFileBytes(path, op: "csv")
        let records = try CSVParser.parse(bytes, delimiter: UInt8(ascii: ","), path: path)
        guard let header = records.first else { throw DataError(op: "csv", file: path, reason: "file is empty") }
        func column(_ name: String, _ role: String) throws -> Int {
            if let i = header.cells.firstIndex(of: name) { return i }
            if let i = Int(name), i >= 0, i < header.cells.count { return i }
            throw DataError(op: "csv", file: path, reason: "no \(role) column \(CSVParser.shown(name)); the columns are "
                            + CSVParser.list(header.cells))
        }
        let t = try column(text, "text"), l = try column(label, "label")
        var texts: [String] = [], labels: [String] = []
        for record in records.dropFirst() {
            guard record.cells.count == header.cells.count else {
                throw DataError(op: "csv", file: path, line: record.line,
                                reason: "row has \(record.cells.count) cells, the header \(header.cells.count)")
            }
            texts.append(record.cells[t])
            labels.append(record.cells[l])
        }
        guard !texts.isEmpty else { throw DataError(op: "csv", file: path, reason: "file has no data rows") }
        return (texts, labels)
    }
}
