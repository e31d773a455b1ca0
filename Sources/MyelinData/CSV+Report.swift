/// What `CSVReader` decided and changed while reading a file, as counts and one-line sentences
/// (`TabularDataset.notes` lists them all), for example:
///
/// ```
/// classification: 3 integer classes 0..2 in 'y' (override with --task regression)
/// dropped 3 rows whose label 'price' is missing
/// imputed 12 missing cells in 'age' with the median 38.5 (+ indicator age_missing)
/// warning: 'height' had no missing values in training: imputed 1 missing cell with the training median 1.7 (no indicator)
/// ```
public struct CSVReadReport: Equatable, Sendable {
    /// Rows left out (missing label, or any missing cell under `.drop`).
    public var droppedRows: Int
    /// Feature columns in which some cells were filled in, in file order.
    public var imputedColumns: [String]
    /// How the task was chosen and how to override it (nil when reading with a schema).
    public var taskReason: String?
    /// What was done, one sentence each.
    public var actions: [String]
    /// What deserves a look: gaps at predict time in columns that had none in training.
    public var warnings: [String]

    public init(droppedRows: Int = 0, imputedColumns: [String] = [], taskReason: String? = nil,
                actions: [String] = [], warnings: [String] = []) {
        self.droppedRows = droppedRows
        self.imputedColumns = imputedColumns
        self.taskReason = taskReason
        self.actions = actions
        self.warnings = warnings
    }

    /// The task reason, the actions, then the warnings (prefixed `warning: `), one line each and
    /// safe to print (control characters escaped).
    public var notes: [String] {
        let lines = (taskReason.map { [$0] } ?? []) + actions + warnings.map { "warning: " + $0 }
        return lines.map(terminalSafe)
    }
}
