import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct CSVTests {
    @Test func numericAndCategoricalColumnsWithHeader() throws {
        let dir = makeTempDir("csv")
        writeText("""
        age,colour,height,species
        30,red,1.5,cat
        41, blue ,2.5,dog
        "25",red,3e-1,cat
        19,green,4,bird

        """, "\(dir)/data.csv")
        let d = try CSVReader(label: .name("species")).read(path: "\(dir)/data.csv")
        #expect(d.task == .classification)
        #expect(d.classNames == ["bird", "cat", "dog"])
        #expect(d.featureNames == ["age", "colour=blue", "colour=green", "colour=red", "height"])
        #expect(d.inputs.shape == [4, 5] && d.inputs.dtype == .float32)
        #expect(d.inputs.floats == [30, 0, 0, 1, 1.5, 41, 1, 0, 0, 2.5, 25, 0, 0, 1, 0.3, 19, 0, 1, 0, 4])
        #expect(d.targets.dtype == .int64 && d.targets.ints == [1, 2, 1, 0])
        #expect(d.schema.columns[1].encoding == .oneHot(categories: ["blue", "green", "red"]))
        #expect(d.schema.hasHeader)
        #expect(d.count == 4 && d.batch(at: [3, 1]).targets.ints == [0, 2])

        let labelled = try CSVReader(label: .index(-1), categoricalEncoding: .label).read(path: "\(dir)/data.csv")
        #expect(labelled.featureNames == ["age", "colour", "height"])
        #expect(labelled.inputs.floats == [30, 2, 1.5, 41, 0, 2.5, 25, 2, 0.3, 19, 1, 4])
        #expect(labelled.schema.columns[1].encoding == .label(categories: ["blue", "green", "red"]))

        // Forcing a numeric column to be categorical.
        let forced = try CSVReader(label: .name("species"), categorical: ["age"]).read(path: "\(dir)/data.csv")
        #expect(forced.featureNames.prefix(4) == ["age=19", "age=25", "age=30", "age=41"])
    }

    @Test func taskInference() throws {
        let dir = makeTempDir("csv-task")
        writeText("x,y\n1,0\n2,1\n3,2\n4,1\n", "\(dir)/ints.csv")
        let c = try CSVReader().read(path: "\(dir)/ints.csv")
        #expect(c.task == .classification && c.classNames == ["0", "1", "2"] && c.targets.ints == [0, 1, 2, 1])
        // Integer labels sort numerically: 2 < 10.
        writeText("x,y\n1,10\n2,2\n", "\(dir)/order.csv")
        #expect(try CSVReader(task: .classification).read(path: "\(dir)/order.csv").classNames == ["2", "10"])
        writeText("x,y\n1,0.5\n2,1.25\n3,2\n", "\(dir)/reals.csv")
        let r = try CSVReader().read(path: "\(dir)/reals.csv")
        #expect(r.task == .regression && r.classNames.isEmpty)
        #expect(r.targets.shape == [3, 1] && r.targets.dtype == .float32 && r.targets.floats == [0.5, 1.25, 2])
        // More distinct integers than maxInferredClasses: regression.
        writeText("x,y\n" + (0..<30).map { "\($0),\($0 * 3)" }.joined(separator: "\n"), "\(dir)/many.csv")
        writeText("x,y\n" + (0..<30).map { "\($0),\($0)" }.joined(separator: "\n"), "\(dir)/codes.csv")
        #expect(try CSVReader().read(path: "\(dir)/codes.csv").task == .regression)
        #expect(try CSVReader().read(path: "\(dir)/many.csv").task == .regression)
        #expect(try CSVReader(maxInferredClasses: 40).read(path: "\(dir)/codes.csv").task == .classification)
        #expect(try CSVReader(task: .regression).read(path: "\(dir)/ints.csv").targets.shape == [4, 1])
    }

    @Test func headerDetectionDelimiterAndQuotes() throws {
        let dir = makeTempDir("csv-header")
        writeText("1.0;2.0;a\n3.0;4.0;b\n", "\(dir)/noheader.csv")
        let d = try CSVReader(delimiter: ";").read(path: "\(dir)/noheader.csv")
        #expect(!d.schema.hasHeader && d.featureNames == ["column0", "column1"] && d.classNames == ["a", "b"] && d.count == 2)
        writeText("name,label\n\"Smith, J.\",yes\n\"say \"\"hi\"\"\",no\n\"two\nlines\",yes\n", "\(dir)/quoted.csv")
        let q = try CSVReader().read(path: "\(dir)/quoted.csv")
        #expect(q.schema.hasHeader && q.count == 3)
        #expect(q.featureNames == ["name=Smith, J.", "name=say \"hi\"", "name=two\nlines"])
        writeText("a,b\r\n1,x\r\n2,y\r\n", "\(dir)/crlf.csv")
        #expect(try CSVReader().read(path: "\(dir)/crlf.csv").targets.ints == [0, 1])
        // Gzipped CSV is read transparently.
        writeBytes(Gzip.compress(Array("a,b\n1,x\n2,y\n".utf8)), "\(dir)/z.csv.gz")
        #expect(try CSVReader().read(path: "\(dir)/z.csv.gz").count == 2)
        // Explicit header flag wins.
        writeText("1,2\n3,4\n5,6\n", "\(dir)/nums.csv")
        #expect(try CSVReader(hasHeader: true).read(path: "\(dir)/nums.csv").featureNames == ["1"])
    }

    @Test func badFilesThrowWithRowAndColumn() throws {
        let dir = makeTempDir("csv-bad")
        writeText((["a,b,c,d,e"] + (2...13).map { _ in "1,2,3,4,5" } + ["1,2,3"]).joined(separator: "\n"), "\(dir)/data.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/data.csv") } == "[csv] \(dir)/data.csv:14: row has 3 cells, expected 5")
        writeText("name,age,y\nx,1,0\ny,2,1\nz,3,0\nw,4,1\nv,5,0\nu,abc,1\n", "\(dir)/ages.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/ages.csv") }
                == "[csv] \(dir)/ages.csv:7:2: 'abc' is not a number in numeric column 'age'")
        writeText("a,b,y\n1,2,0\n3,,1\n", "\(dir)/empty.csv")
        #expect(thrownMessage { try CSVReader(missing: .error).read(path: "\(dir)/empty.csv") } == "[csv] \(dir)/empty.csv:3:2: empty cell in column 'b'")
        writeText("a,b,y\n1,2,0\n3,NA,1\n", "\(dir)/na.csv")
        #expect(thrownMessage { try CSVReader(missing: .error).read(path: "\(dir)/na.csv") } == "[csv] \(dir)/na.csv:3:2: missing value 'NA' in column 'b'")
        writeText("a,b,y\n1,2,0\n3,4,\n", "\(dir)/nolabel.csv")
        #expect(thrownMessage { try CSVReader(missing: .error).read(path: "\(dir)/nolabel.csv") } == "[csv] \(dir)/nolabel.csv:3:3: empty cell in column 'y'")
        #expect(thrownMessage { try CSVReader(label: .name("target")).read(path: "\(dir)/empty.csv") }
                == "[csv] \(dir)/empty.csv: no label column 'target' (columns: a, b, y)")
        #expect(thrownMessage { try CSVReader(label: .index(5)).read(path: "\(dir)/empty.csv") }
                == "[csv] \(dir)/empty.csv: label column index 5 is out of range for 3 columns")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/missing.csv") }?.hasPrefix("[csv] \(dir)/missing.csv: cannot open for reading") == true)
        writeText("", "\(dir)/blank.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/blank.csv") } == "[csv] \(dir)/blank.csv: file has no rows")
        writeText("a,b\n", "\(dir)/headeronly.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/headeronly.csv") } == "[csv] \(dir)/headeronly.csv: file has a header but no data rows")
        writeText("a,b\n\"1,2\n", "\(dir)/quote.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/quote.csv") } == "[csv] \(dir)/quote.csv:2:1: quote is never closed")
        writeText("a,a\n1,2\n", "\(dir)/dup.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/dup.csv") } == "[csv] \(dir)/dup.csv:1:2: duplicate column name 'a'")
        writeText("x,y\n1,0.5\n2,oops\n", "\(dir)/reg.csv")
        #expect(thrownMessage { try CSVReader(task: .regression).read(path: "\(dir)/reg.csv") }
                == "[csv] \(dir)/reg.csv:3:2: 'oops' is not a number in label column 'y'")
        writeBytes([0x1f, 0x8b, 8, 0, 1, 2, 3], "\(dir)/broken.csv.gz")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/broken.csv.gz") }?.hasPrefix("[csv] \(dir)/broken.csv.gz: ") == true)
    }

    @Test func schemaEncodesNewFilesTheSameWay() throws {
        let dir = makeTempDir("csv-schema")
        writeText("age,colour,y\n30,red,yes\n41,blue,no\n25,red,yes\n", "\(dir)/train.csv")
        let train = try CSVReader(label: .name("y")).read(path: "\(dir)/train.csv")
        // The schema survives JSON.
        let json = try JSONEncoder().encode(train.schema)
        let schema = try JSONDecoder().decode(CSVSchema.self, from: json)
        #expect(schema == train.schema)

        // Predict input: columns reordered, no label column.
        writeText("colour,age\nblue,50\nred,20\n", "\(dir)/new.csv")
        let new = try CSVReader(label: nil).read(path: "\(dir)/new.csv", schema: schema)
        #expect(new.featureNames == train.featureNames && !new.hasLabels)
        #expect(new.inputs.floats == [50, 1, 0, 20, 0, 1])
        #expect(new.targets.shape == [2] && new.targets.ints == [0, 0] && new.classNames == ["no", "yes"])
        // With labels, they use the training classes.
        writeText("age,colour,y\n1,blue,yes\n", "\(dir)/labelled.csv")
        #expect(try CSVReader().read(path: "\(dir)/labelled.csv", schema: schema).targets.ints == [1])
        // Headerless predict input, by position, with or without the label.
        writeText("7,red\n", "\(dir)/pos.csv")
        #expect(try CSVReader(hasHeader: false).read(path: "\(dir)/pos.csv", schema: schema).inputs.floats == [7, 0, 1])
        writeText("7,red,no\n", "\(dir)/pos2.csv")
        #expect(try CSVReader(hasHeader: false).read(path: "\(dir)/pos2.csv", schema: schema).targets.ints == [0])

        writeText("age,y\n1,yes\n", "\(dir)/lacks.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/lacks.csv", schema: schema) }
                == "[csv] \(dir)/lacks.csv: missing column 'colour' of the schema (file has: age, y)")
        writeText("age,colour\n1,purple\n", "\(dir)/unseen.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/unseen.csv", schema: schema) }
                == "[csv] \(dir)/unseen.csv:2:2: unseen category 'purple' in column 'colour' (known: blue, red)")
        writeText("age,colour,y\n1,red,maybe\n", "\(dir)/unseenclass.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/unseenclass.csv", schema: schema) }
                == "[csv] \(dir)/unseenclass.csv:2:3: unseen class 'maybe' in label column 'y' (known: no, yes)")
        writeText("age,colour\nold,red\n", "\(dir)/nonnum.csv")
        #expect(thrownMessage { try CSVReader().read(path: "\(dir)/nonnum.csv", schema: schema) }
                == "[csv] \(dir)/nonnum.csv:2:1: 'old' is not a number in numeric column 'age'")
        writeText("1,2,3,4\n", "\(dir)/wide.csv")
        #expect(thrownMessage { try CSVReader(hasHeader: false).read(path: "\(dir)/wide.csv", schema: schema) }
                == "[csv] \(dir)/wide.csv:1: row has 4 cells, the schema needs 2 features (or 3 with the label)")
    }

    @Test func noLabelColumn() throws {
        let dir = makeTempDir("csv-nolabel")
        writeText("a,b\n1,2\n3,4\n", "\(dir)/x.csv")
        let d = try CSVReader(label: nil).read(path: "\(dir)/x.csv")
        #expect(d.featureNames == ["a", "b"] && d.inputs.floats == [1, 2, 3, 4] && d.targets.ints == [0, 0] && !d.hasLabels)
    }
}

@Suite struct SklearnCSVTests {
    @Test func headerAndHeaderlessLayouts() throws {
        let dir = makeTempDir("sk")
        writeText("3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n4.7,3.2,0\n", "\(dir)/iris.csv")
        let d = try SklearnCSV.read(path: "\(dir)/iris.csv")
        #expect(d.classNames == ["setosa", "versicolor"] && d.inputs.shape == [3, 2] && d.targets.ints == [0, 1, 0])
        #expect(d.inputs.floats == [5.1, 3.5, 4.9, 3.0, 4.7, 3.2])
        writeBytes(Gzip.compress(Array("0,1,2,3\n4,5,6,9\n".utf8)), "\(dir)/digits.csv.gz")
        let g = try SklearnCSV.read(path: "\(dir)/digits.csv.gz")
        #expect(g.inputs.shape == [2, 3] && g.targets.ints == [3, 9] && g.classNames.count == 10)

        writeText("4,2,a,b\n1,2,0\n", "\(dir)/count.csv")
        #expect(thrownMessage { try SklearnCSV.read(path: "\(dir)/count.csv") } == "[csv] \(dir)/count.csv: header says 4 samples, file has 1 rows")
        writeText("2,2,a,b\n1,2,0\n1,2,5\n", "\(dir)/range.csv")
        #expect(thrownMessage { try SklearnCSV.read(path: "\(dir)/range.csv") } == "[csv] \(dir)/range.csv:3:3: label 5 is out of range for 2 classes")
        writeText("2,2,a,b\n1,2,0\n1,x,1\n", "\(dir)/nan.csv")
        #expect(thrownMessage { try SklearnCSV.read(path: "\(dir)/nan.csv") } == "[csv] \(dir)/nan.csv:3:2: 'x' is not a number")
        writeText("2,2,a,b\n1,2,0\n1,1\n", "\(dir)/ragged.csv")
        #expect(thrownMessage { try SklearnCSV.read(path: "\(dir)/ragged.csv") } == "[csv] \(dir)/ragged.csv:3: row has 2 cells, expected 3")
    }

    @Test(.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)"))
    func realFilesWhenPresent() throws {
        let root = try #require(sharedDatasets())
        let iris = try SklearnCSV.read(path: root + "/iris/iris.csv")
        #expect(iris.inputs.shape == [150, 4] && iris.classNames == ["setosa", "versicolor", "virginica"])
        #expect(iris.inputs[34].floats == [4.9, 3.1, 1.5, 0.2])
        let digits = try SklearnCSV.read(path: root + "/digits/digits.csv.gz")
        #expect(digits.inputs.shape == [1797, 64] && Set(digits.targets.ints) == Set(0..<10))
        let wine = try SklearnCSV.read(path: root + "/wine/wine_data.csv")
        #expect(wine.inputs.shape == [178, 13] && wine.targets.ints.filter { $0 == 1 }.count == 71)
        let cancer = try SklearnCSV.read(path: root + "/breast-cancer/breast_cancer.csv")
        #expect(cancer.inputs.shape == [569, 30] && cancer.targets.ints.filter { $0 == 0 }.count == 212)
    }
}

@Suite struct TextTests {
    @Test func characterAndWordVocabularies() throws {
        let chars = Vocabulary.characters(in: "hello world")
        #expect(chars.tokens == [" ", "d", "e", "h", "l", "o", "r", "w"])
        let ids = try chars.encode("hold")
        #expect(ids.dtype == .int64 && ids.ints == [3, 5, 4, 1] && chars.decode(ids) == "hold")
        #expect(thrownMessage { try chars.encode("xyz") } == "[vocabulary] unknown character 'x' (vocabulary of 8 tokens)")

        let words = Vocabulary.words(in: ["The cat sat.", "the dog sat", "A cat!"], maxSize: 4)
        #expect(words.tokens == ["<unk>", "cat", "sat", "the"])
        #expect(try words.encode("The cat ate").ints == [3, 1, 0])
        #expect(words.decode([3, 1]) == "the cat")
        #expect(Vocabulary.tokenize("Don't STOP, 2 go!") == ["don't", "stop", "2", "go"])
        let json = try JSONEncoder().encode(words)
        #expect(try JSONDecoder().decode(Vocabulary.self, from: json) == words)

        let bag = BagOfWords(vocabulary: words)
        #expect(bag.transform(["cat cat sat zebra", ""]).floats == [1, 2, 1, 0, 0, 0, 0, 0])
        #expect(BagOfWords(vocabulary: words, binary: true).transform(["cat cat"]).floats == [0, 1, 0, 0])
    }

    @Test func smsSpamReader() throws {
        let dir = makeTempDir("sms")
        writeText("ham\tOk lar...\nspam\tFree entry\twith tab\n\nham\tSee you\n", "\(dir)/SMSSpamCollection")
        let (messages, labels) = try SMSSpam.read(path: "\(dir)/SMSSpamCollection")
        #expect(messages == ["Ok lar...", "Free entry\twith tab", "See you"] && labels == ["ham", "spam", "ham"])
        #expect(try SMSSpam.encodeLabels(labels).ints == [0, 1, 0])
        #expect(thrownMessage { try SMSSpam.encodeLabels(["ham", "eggs"]) } == "[sms] unseen label 'eggs' (classes: ham, spam)")
        writeText("ham\tfine\nno tab here\n", "\(dir)/bad")
        #expect(thrownMessage { try SMSSpam.read(path: "\(dir)/bad") } == "[sms] \(dir)/bad:2: line has no tab between label and message")
    }

    @Test func languageModelWindows() throws {
        let text = "abcabcab"
        let vocab = Vocabulary.characters(in: text)
        let d = try LanguageModelDataset(text: text, vocabulary: vocab, sequenceLength: 3)
        #expect(d.count == 5)
        let e = d.example(at: 1)
        #expect(e.input.ints == [1, 2, 0] && e.target.ints == [2, 0, 1])
        let b = d.batch(at: [0, 4])
        #expect(b.inputs.shape == [2, 3] && b.inputs.ints == [0, 1, 2, 1, 2, 0] && b.targets.ints == [1, 2, 0, 2, 0, 1])
        let strided = try LanguageModelDataset(text: text, vocabulary: vocab, sequenceLength: 3, stride: 3)
        #expect(strided.count == 2 && strided.batch(at: [1]).inputs.ints == [0, 1, 2])
        #expect(thrownMessage { try LanguageModelDataset(text: "ab", vocabulary: vocab, sequenceLength: 3) }
                == "[text] text has 2 tokens, needs more than sequenceLength 3")
        let (train, validation) = try LanguageModelDataset(text: String(repeating: "abc", count: 10), vocabulary: vocab, sequenceLength: 2).split()
        #expect(train.tokens.count == 27 && validation.tokens.count == 3)
    }
}
