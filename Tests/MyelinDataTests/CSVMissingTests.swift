import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct CSVMissingTests {
    /// Gaps of every kind: empty, NA, ?, NaN, and a missing label (line 5).
    static let gappy = """
    age,colour,height,y
    30,red,1.5,cat
    ,blue,2.5,dog
    41,NA,?,cat
    25,red,3.5,
    NaN,green,4.5,dog
    50,blue,5.5,dog

    """

    @Test func imputeIsTheDefault() throws {
        let dir = makeTempDir("csv-impute")
        writeText(Self.gappy, "\(dir)/train.csv")
        let d = try CSVReader(label: .name("y")).read(path: "\(dir)/train.csv")
        #expect(d.count == 5 && d.classNames == ["cat", "dog"] && d.targets.ints == [0, 1, 0, 1, 1])
        #expect(d.featureNames == ["age", "age_missing", "colour=blue", "colour=green", "colour=red", "colour=(missing)",
                                   "height", "height_missing"])
        // age median of 30, 41, 50 = 41; height median of 1.5, 2.5, 4.5, 5.5 = 3.5.
        #expect(d.inputs.floats == [30, 0, 0, 0, 1, 0, 1.5, 0,
                                    41, 1, 1, 0, 0, 0, 2.5, 0,
                                    41, 0, 0, 0, 0, 1, 3.5, 1,
                                    41, 1, 0, 1, 0, 0, 4.5, 0,
                                    50, 0, 1, 0, 0, 0, 5.5, 0])
        #expect(d.schema.columns[0] == CSVSchema.Column(name: "age", encoding: .numeric, fill: 41, indicator: true))
        #expect(d.schema.columns[2] == CSVSchema.Column(name: "height", encoding: .numeric, fill: 3.5, indicator: true))
        #expect(d.schema.columns[1].encoding == .oneHot(categories: ["blue", "green", "red", "(missing)"]))
        #expect(d.report.droppedRows == 1 && d.report.imputedColumns == ["age", "colour", "height"] && d.report.warnings.isEmpty)
        #expect(d.notes == [
            "classification: label 'y' is text (2 classes)",
            "dropped 1 row whose label 'y' is missing",
            "imputed 2 missing cells in 'age' with the median 41 (+ indicator age_missing)",
            "filled 1 missing cell in 'colour' with the category '(missing)'",
            "imputed 1 missing cell in 'height' with the median 3.5 (+ indicator height_missing)",
        ])

        // Even count: the mean of the two middle values; -nan is missing too; no gaps, no indicator.
        writeText("a,b,y\n1,5,0\n4,-nan,1\n2,6,0\n10,7,1\n", "\(dir)/even.csv")
        let e = try CSVReader().read(path: "\(dir)/even.csv")
        #expect(e.featureNames == ["a", "b", "b_missing"] && e.schema.columns[0].fill == 3 && e.schema.columns[0].indicator == false)
        #expect(e.inputs.floats == [1, 5, 0, 4, 6, 1, 2, 6, 0, 10, 7, 0])

        // Label encoding: the (missing) category is the last index.
        let l = try CSVReader(label: .name("y"), categoricalEncoding: .label).read(path: "\(dir)/train.csv")
        #expect(l.schema.columns[1].encoding == .label(categories: ["blue", "green", "red", "(missing)"]))
        #expect(l.inputs.floats.count == 5 * 5 && l.inputs[2].floats == [41, 0, 3, 3.5, 1])

        // A numeric column forced categorical keeps numeric order, then (missing).
        let f = try CSVReader(label: .name("y"), categorical: ["age"]).read(path: "\(dir)/train.csv")
        #expect(f.schema.columns[0].encoding == .oneHot(categories: ["30", "41", "50", "(missing)"]))
    }

    @Test func dropAndErrorPolicies() throws {
        let dir = makeTempDir("csv-drop")
        writeText(Self.gappy, "\(dir)/train.csv")
        let d = try CSVReader(label: .name("y"), missing: .drop).read(path: "\(dir)/train.csv")
        #expect(d.count == 2 && d.targets.ints == [0, 1] && d.report.droppedRows == 4)
        #expect(d.featureNames == ["age", "colour=blue", "colour=red", "height"])
        #expect(d.inputs.floats == [30, 0, 1, 1.5, 50, 1, 0, 5.5])
        #expect(d.schema.columns[0] == CSVSchema.Column(name: "age", encoding: .numeric, fill: 40, indicator: false))
        #expect(d.report.actions == ["dropped 4 rows with missing values (missing cells: 'age' 2, 'colour' 1, 'height' 1, 'y' 1)"])
        #expect(d.report.imputedColumns.isEmpty)

        #expect(thrownMessage { try CSVReader(label: .name("y"), missing: .error).read(path: "\(dir)/train.csv") }
                == "[csv] \(dir)/train.csv:3:1: empty cell in column 'age'")
        writeText("a,b\n1,?\n,2\n", "\(dir)/all.csv")
        #expect(thrownMessage { try CSVReader(label: nil, missing: .drop).read(path: "\(dir)/all.csv") }
                == "[csv] \(dir)/all.csv: no rows left: all 2 rows have missing values (missing policy drop; try impute)")
    }

    @Test func allMissingColumnsAndLabels() throws {
        let dir = makeTempDir("csv-allmissing")
        writeText("a,b,y\n,1,0\nNA,2,1\n", "\(dir)/col.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/col.csv") }
                == "[csv] \(dir)/col.csv: column 'a' (column 1) has no values: all 2 cells are missing; remove it")
        writeText("a,y\n1,\n2,?\n", "\(dir)/label.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/label.csv") }
                == "[csv] \(dir)/label.csv: no rows left: all 2 rows have a missing label 'y'")
    }

    @Test func schemaReappliesImputationAtPredictTime() throws {
        let dir = makeTempDir("csv-predict")
        writeText(Self.gappy, "\(dir)/train.csv")
        let train = try CSVReader(label: .name("y")).read(path: "\(dir)/train.csv")
        let json = try JSONEncoder().encode(train.schema)
        #expect(String(decoding: json, as: UTF8.self).contains("\"fill\""))
        let schema = try JSONDecoder().decode(CSVSchema.self, from: json)
        #expect(schema == train.schema)

        writeText("height,colour,age\n,green,\n2,NA,60\n", "\(dir)/new.csv")
        let new = try CSVReader(label: nil).read(path: "\(dir)/new.csv", schema: schema)
        #expect(new.featureNames == train.featureNames && !new.hasLabels)
        #expect(new.inputs.floats == [41, 1, 0, 1, 0, 0, 3.5, 1,
                                      60, 0, 0, 0, 0, 1, 2, 0])
        #expect(new.report.taskReason == nil && new.report.warnings.isEmpty)
        #expect(new.notes == [
            "imputed 1 missing cell in 'age' with the training median 41 (+ indicator age_missing)",
            "filled 1 missing cell in 'colour' with the category '(missing)'",
            "imputed 1 missing cell in 'height' with the training median 3.5 (+ indicator height_missing)",
        ])
    }

    @Test func gapsUnseenInTrainingAreImputedWithAWarning() throws {
        let dir = makeTempDir("csv-warn")
        writeText("a,b,c,y\n1,x,10,0\n2,y,20,1\n3,x,30,0\n", "\(dir)/train.csv")
        let train = try CSVReader().read(path: "\(dir)/train.csv")
        #expect(train.featureNames == ["a", "b=x", "b=y", "c"] && train.schema.columns[0].fill == 2 && train.schema.columns[2].fill == 20)
        writeText("a,b,c\n,?,5\n", "\(dir)/new.csv")
        let new = try CSVReader().read(path: "\(dir)/new.csv", schema: train.schema)
        #expect(new.inputs.floats == [2, 0, 0, 5])
        #expect(new.report.imputedColumns == ["a", "b"])
        #expect(new.notes == [
            "warning: 'a' had no missing values in training: imputed 1 missing cell with the training median 2 (no indicator)",
            "warning: 'b' had no missing values in training: 1 missing cell encoded as no category (all-zero one-hot)",
        ])
        let labelTrain = try CSVReader(categoricalEncoding: .label).read(path: "\(dir)/train.csv")
        let labelNew = try CSVReader().read(path: "\(dir)/new.csv", schema: labelTrain.schema)
        #expect(labelNew.inputs.floats == [2, -1, 5])
        #expect(labelNew.report.warnings.last == "'b' had no missing values in training: 1 missing cell encoded as no category (label -1)")

        // Label gaps at evaluate time: dropped and counted (impute, drop), or an error.
        writeText("a,b,c,y\n1,x,1,\n2,y,2,1\n", "\(dir)/labelled.csv")
        let evaluated = try CSVReader().read(path: "\(dir)/labelled.csv", schema: train.schema)
        #expect(evaluated.count == 1 && evaluated.targets.ints == [1] && evaluated.report.droppedRows == 1)
        #expect(evaluated.notes == ["dropped 1 row whose label 'y' is missing"])
        #expect(try CSVReader(missing: .drop).read(path: "\(dir)/labelled.csv", schema: train.schema).count == 1)
        #expect(thrownMessage { try CSVReader(missing: .error).read(path: "\(dir)/labelled.csv", schema: train.schema) }
                == "[csv] \(dir)/labelled.csv:2:4: empty cell in column 'y'")
        writeText("a,b,c\n,x,1\n2,y,2\n", "\(dir)/features.csv")
        let dropped = try CSVReader(missing: .drop).read(path: "\(dir)/features.csv", schema: train.schema)
        #expect(dropped.inputs.floats == [2, 0, 1, 2] && dropped.report.droppedRows == 1)
        // Non-numbers and infinities in a numeric column still throw at predict time.
        writeText("a,b,c\n1,x,inf\n", "\(dir)/inf.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/inf.csv", schema: train.schema) }
                == "[csv] \(dir)/inf.csv:2:3: 'inf' is not a finite number in numeric column 'c'")
    }

    @Test func schemasWrittenBeforeMissingValuesStillDecode() throws {
        // JSON as the previous version wrote it: no fill or indicator keys.
        let old = """
        {"columns":[{"name":"age","encoding":{"numeric":{}}},{"name":"colour","encoding":{"oneHot":{"categories":["blue","red"]}}}],\
        "labelColumn":"y","labelPosition":2,"task":"classification","classNames":["no","yes"],"hasHeader":true,"delimiter":","}
        """
        let schema = try JSONDecoder().decode(CSVSchema.self, from: Data(old.utf8))
        #expect(schema.columns == [CSVSchema.Column(name: "age", encoding: .numeric),
                                   CSVSchema.Column(name: "colour", encoding: .oneHot(categories: ["blue", "red"]))])
        #expect(schema.columns[0].fill == nil && schema.columns[0].indicator == nil)
        #expect(schema.featureNames == ["age", "colour=blue", "colour=red"] && schema.classNames == ["no", "yes"])
        let dir = makeTempDir("csv-old")
        writeText("age,colour,y\n50,blue,yes\n20,red,no\n", "\(dir)/new.csv")
        let d = try CSVReader().read(path: "\(dir)/new.csv", schema: schema)
        #expect(d.inputs.floats == [50, 1, 0, 20, 0, 1] && d.targets.ints == [1, 0])
        // A categorical gap can be encoded (as no category); a numeric one has no stored median.
        writeText("age,colour\n50,\n", "\(dir)/gap.csv")
        #expect(try CSVReader().read(path: "\(dir)/gap.csv", schema: schema).inputs.floats == [50, 0, 0])
        writeText("age,colour\n,red\n", "\(dir)/numgap.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/numgap.csv", schema: schema) }
                == "[csv] \(dir)/numgap.csv:2:1: empty cell in column 'age' (the schema has no fill value for it: it was saved by an older version; retrain to impute)")
    }
}
