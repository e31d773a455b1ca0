import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct CSVTaskInferenceTests {
    func read(_ labels: [String], name: String = "y", reader: CSVReader = CSVReader()) throws -> TabularDataset {
        let dir = makeTempDir("csv-infer")
        writeText("x,\(name)\n" + labels.enumerated().map { "\($0.offset),\($0.element)" }.joined(separator: "\n") + "\n", "\(dir)/data.csv")
        return try reader.read(path: "\(dir)/data.csv")
    }

    @Test func integerCodesAreClasses() throws {
        let digits = try read((0..<30).map { "\($0 % 10)" })
        #expect(digits.task == .classification && digits.classNames.count == 10)
        #expect(digits.report.taskReason == "classification: label 'y' has 10 integer classes 0..9 (override with --task regression)")
        #expect(try read(["1", "-1", "1", "-1"]).classNames == ["-1", "1"])
        #expect(try read(["0", "1", "1"]).task == .classification)
        let stars = try read(["1", "2", "3", "4", "5", "3"])
        #expect(stars.task == .classification && stars.notes.first == "classification: label 'y' has 5 integer classes 1..5 (override with --task regression)")
        // Sparse codes still count: 0, 2, 4 (range 5 <= 2 * 3).
        #expect(try read(["0", "2", "4"]).task == .classification)
    }

    @Test func integerQuantitiesAreRegression() throws {
        let prices = try read(["120000", "150000", "310000", "150000", "200000"], name: "price")
        #expect(prices.task == .regression && prices.targets.floats == [120000, 150000, 310000, 150000, 200000])
        #expect(prices.report.taskReason == "regression: label 'price' has 4 distinct integer values from 120000 to 310000, which look like quantities, not class codes (override with --task classification)")
        let counts = try read(["3", "5", "7", "10", "12", "15", "20", "25", "30"])
        #expect(counts.task == .regression)
        #expect(counts.notes.first == "regression: label 'y' has 9 distinct integer values from 3 to 30, which look like quantities, not class codes (override with --task classification)")
        #expect(try read(["-5", "-4", "-3"]).task == .regression)     // below -1: not codes
        let many = try read((0..<30).map { "\($0)" })
        #expect(many.notes.first == "regression: label 'y' has 30 distinct integer values, more than maxInferredClasses 20 (override with --task classification)")
        #expect(try read(["0.5", "1", "2"]).report.taskReason == "regression: label 'y' has non-integer values")
        // Overrides.
        let forced = try read(["3", "5", "30"], reader: CSVReader(task: .classification))
        #expect(forced.classNames == ["3", "5", "30"] && forced.report.taskReason == "classification: given (label 'y', 3 classes)")
        #expect(try read(["0", "1"], reader: CSVReader(task: .regression)).report.taskReason == "regression: given (label 'y')")
    }

    @Test func textLabelsAreClasses() throws {
        let d = try read(["cat", "dog", "cat"])
        #expect(d.task == .classification && d.classNames == ["cat", "dog"])
        #expect(d.report.taskReason == "classification: label 'y' is text (2 classes)")
        // Mostly text with some numbers: still text classes.
        #expect(try read(["a", "b", "c", "1"]).classNames == ["1", "a", "b", "c"])
    }

    @Test func badCellsInANumericLabelThrow() throws {
        let labels = (0..<10).map { "\(100 + 7 * $0)" }
        #expect(baseNamed(thrownMessage { try read(labels + ["abc"], name: "price") })
                == "[csv] data.csv:12:2: 'abc' is not a number in label column 'price'")
        #expect(baseNamed(thrownMessage { try read(["1.5", "inf", "2"]) }) == "[csv] data.csv:3:2: 'inf' is not a finite number in label column 'y'")
        #expect(baseNamed(thrownMessage { try read(["1.5", "2", "-Infinity"]) }) == "[csv] data.csv:4:2: '-Infinity' is not a finite number in label column 'y'")
        #expect(baseNamed(thrownMessage { try read(["1.5", "1e999"], reader: CSVReader(task: .regression)) })
                == "[csv] data.csv:3:2: '1e999' is not a finite number in label column 'y'")
    }

    @Test func infinitiesInNumericFeaturesThrow() throws {
        let dir = makeTempDir("csv-inf")
        writeText("x,y\n1,0\ninf,1\n2,0\n", "\(dir)/a.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/a.csv") } == "[csv] \(dir)/a.csv:3:1: 'inf' is not a finite number in numeric column 'x'")
        writeText("x,y\n1,0\n-inf,1\n", "\(dir)/b.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/b.csv") } == "[csv] \(dir)/b.csv:3:1: '-inf' is not a finite number in numeric column 'x'")
    }
}

@Suite struct CSVBudgetTests {
    @Test func oneHotExpansionIsBoundedBeforeAllocating() throws {
        let dir = makeTempDir("csv-budget")
        // 200 text columns of 2,000 distinct values each (+ a label): 400,000 one-hot features.
        var text = (0..<200).map { "c\($0)" }.joined(separator: ",") + ",y\n"
        for r in 0..<2000 {
            text += (0..<200).map { "v\($0)_\(r)" }.joined(separator: ",") + ",\(r % 2)\n"
        }
        writeText(text, "\(dir)/wide.csv")
        let start = ContinuousClock.now
        let message = thrownMessage { try CSVReader().read(path: "\(dir)/wide.csv") }
        #expect(baseNamed(message) == "[csv] wide.csv: one-hot encoding would make 400,000 features (limit 4,096): columns 'c0' (2,000 categories), 'c1' (2,000 categories), 'c2' (2,000 categories) and 196 more; use --categorical-encoding label or drop them")
        #expect(ContinuousClock.now - start < .seconds(20))
        // Label-encoded, the same file is small.
        let labelled = try CSVReader(categoricalEncoding: .label).read(path: "\(dir)/wide.csv")
        #expect(labelled.inputs.shape == [2000, 200])

        var single = "id,x,y\n"
        for r in 0..<1200 { single += "name\(r),\(r),\(r % 2)\n" }
        writeText(single, "\(dir)/names.csv")
        #expect(thrownMessage { try CSVReader(maxFeatures: 1000).read(path: "\(dir)/names.csv") }
                == "[csv] \(dir)/names.csv: one-hot encoding would make 1,201 features (limit 1,000): column 'id' has 1,200 categories; use --categorical-encoding label or drop the column")
        #expect(try CSVReader().read(path: "\(dir)/names.csv").inputs.shape == [1200, 1201])
        // Without one-hot columns to blame.
        writeText("a,b,c,y\n1,2,3,0\n", "\(dir)/three.csv")
        #expect(thrownMessage { try CSVReader(maxFeatures: 2).read(path: "\(dir)/three.csv") }
                == "[csv] \(dir)/three.csv: the file would make 3 features (limit 2); drop columns or raise maxFeatures")
    }

    @Test func cellBudget() throws {
        let dir = makeTempDir("csv-cells")
        writeText("k,y\n" + (0..<10).map { "k\($0),\($0 % 2)" }.joined(separator: "\n") + "\n", "\(dir)/ten.csv")
        // 22 cells parse (limit 90 / 4); 10 rows x 10 one-hot features = 100 values.
        #expect(thrownMessage { try CSVReader(maxCells: 90).read(path: "\(dir)/ten.csv") }
                == "[csv] \(dir)/ten.csv: 10 rows × 10 features = 100 values (limit 90); use fewer rows or columns, or raise maxCells")
        #expect(thrownMessage { try CSVReader(maxCells: 40).read(path: "\(dir)/ten.csv") }
                == "[csv] \(dir)/ten.csv:6: file has more than 10 cells (limit maxCells / 4); split it or raise maxCells")
        // Reading with a schema checks the values too.
        let schema = try CSVReader().read(path: "\(dir)/ten.csv").schema
        #expect(thrownMessage { try CSVReader(maxCells: 90).read(path: "\(dir)/ten.csv", schema: schema) }?
                    .hasSuffix("10 rows × 10 features = 100 values (limit 90); use fewer rows or columns, or raise maxCells") == true)
    }
}

@Suite struct CSVMessageSafetyTests {
    @Test func controlCharactersAndLongCellsAreShownSafely() throws {
        let dir = makeTempDir("csv-safe")
        writeText("x,y\n1,0\n2,1\n\u{1b}[31mred,0\n", "\(dir)/esc.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/esc.csv") }
                == "[csv] \(dir)/esc.csv:4:1: '\\x1b[31mred' is not a number in numeric column 'x'")
        writeBytes(Array("x,y\n1,0\n2,1\n".utf8) + [0xFF, 0xFE, 0x07] + Array(",0\n".utf8), "\(dir)/bin.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/bin.csv") }
                == "[csv] \(dir)/bin.csv:4:1: '\u{FFFD}\u{FFFD}\\x07' is not a number in numeric column 'x'")
        writeText("x,y\n1,0\n2,1\n" + String(repeating: "a", count: 100) + ",0\n", "\(dir)/long.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/long.csv") }
                == "[csv] \(dir)/long.csv:4:1: '" + String(repeating: "a", count: 40) + "…' is not a number in numeric column 'x'")
        writeText("x,y\n1,0\n2,1\n\"a\nb\u{202E}\",0\n", "\(dir)/quoted.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/quoted.csv") }
                == "[csv] \(dir)/quoted.csv:4:1: 'a\\nb\\u{202E}' is not a number in numeric column 'x'")
    }

    @Test func descriptionsAreOneLine() {
        let e = DataError(op: "csv", file: "/tmp/x\u{7}.csv", line: 3, reason: "bell\u{7}, tab\t, C1 \u{9B}, cr\r\nnext")
        #expect(e.description == "[csv] /tmp/x\\x07.csv:3: bell\\x07, tab\\t, C1 \\u{9B}, cr\\r\\nnext")
        let long = DataError(op: "csv", reason: String(repeating: "z", count: 1000))
        #expect(long.description.count == "[csv] ".count + 601 && long.description.hasSuffix("z…"))
        #expect(DataError(op: "csv", reason: "plain 'é' stays").description == "[csv] plain 'é' stays")
        // Notes are printable too.
        #expect(CSVReadReport(actions: ["column '\u{1b}'"]).notes == ["column '\\x1b'"])
    }

    @Test func longListsAreCut() throws {
        let dir = makeTempDir("csv-list")
        writeText((0..<30).map { "c\($0)" }.joined(separator: ",") + "\n" + (0..<30).map { "\($0)" }.joined(separator: ",") + "\n", "\(dir)/cols.csv")
        #expect(thrownMessage { try CSVReader(label: .name("nope")).read(path: "\(dir)/cols.csv") }
                == "[csv] \(dir)/cols.csv: no label column 'nope' (columns: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, … (18 more))")
    }
}
