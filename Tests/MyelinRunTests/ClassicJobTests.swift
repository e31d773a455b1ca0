import Foundation
import Testing
import MyelinClassic
import MyelinCore
import MyelinData
@testable import MyelinRun

/// Whether the catalogue's iris is on disk ($MYELIN_DATA or the cache); tests that need it skip otherwise.
private let irisPresent = Catalogue(dataDir: nil, allowDownload: false).status("iris") != nil

/// `myelin train --model perceptron|knn|naive-bayes|tree|forest`, the run folders it writes, and `myelin compare`.
@Suite struct ClassicJobTests {
    /// Three Gaussian blobs in 2-D, labels "a", "b", "c" (a header row), 120 rows.
    static func blobsCSV(in dir: String, rows: Int = 120) -> String {
        let g = RandomGenerator(seed: 5)
        let noise = Tensor.randn([rows, 2], generator: g).floats
        let centres: [(Double, Double)] = [(-3, 0), (3, 0), (0, 3)]
        var text = "x,y,group\n"
        for i in 0..<rows {
            let c = centres[i % 3]
            text += "\(c.0 + 0.6 * Double(noise[2 * i])),\(c.1 + 0.6 * Double(noise[2 * i + 1])),\(["a", "b", "c"][i % 3])\n"
        }
        let path = dir + "/blobs.csv"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func request(_ csv: String, _ kind: ClassicKind, out: String) -> ClassicRequest {
        var s = ClassicSettings(kind: kind)
        s.trees = 10
        return ClassicRequest(source: .csv(path: csv, label: "group", task: nil), classic: s, out: out)
    }

    @Test(arguments: ClassicKind.allCases)
    func eachKindWritesARunThatEvaluatesPredictsAndSummarises(_ kind: ClassicKind) throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = Self.blobsCSV(in: dir)
        let out = dir + "/run"
        var lines: [String] = []
        let metrics = try ClassicJob.train(Self.request(csv, kind, out: out), output: { lines.append($0) })
        #expect(metrics["accuracy"]! >= 0.9, "\(kind): \(metrics)")
        #expect(ClassicJob.isClassicRun(out) && lines.last!.hasPrefix("wrote"))
        let run = RunFolder(out)
        let state = kind == .knn ? ClassicJob.neighborsFile : ClassicJob.stateFile
        for file in [run.description, run.results, run.confusion, run.boundary, run.file(state)] {
            #expect(FileManager.default.fileExists(atPath: file), "missing \(file)")
        }
        let results = try JSONDecoder().decode([String: [String: Double]].self, from: Data(contentsOf: URL(fileURLWithPath: run.results)))
        #expect(results["test"]!["accuracy"] == metrics["accuracy"])
        #expect(results["training"]!["rows"] == 96 && results["training"]!["seconds"] != nil)

        // evaluate reloads the fitted state and gives train's figures; so does a whole labelled CSV.
        let (evaluation, classes) = try UseJobs.evaluate(out, source: nil, dataDir: nil)
        #expect(classes == ["a", "b", "c"] && evaluation.count == 24)
        #expect(evaluation.metrics["accuracy"] == metrics["accuracy"])
        let (whole, _) = try UseJobs.evaluate(out, source: .csv(path: csv, label: "", task: nil), dataDir: nil)
        #expect(whole.count == 120 && whole.metrics["accuracy"]! >= 0.9)

        // predict: labels by name, probabilities (not for the perceptron's step output).
        let input = dir + "/new.csv"
        try "x,y\n-3,0\n3,0.1\n0,3\n".write(toFile: input, atomically: true, encoding: .utf8)
        let rows = try UseJobs.predict(out, input: input).split(separator: "\n").map(String.init)
        #expect(rows.count == 4)
        #expect(rows[0] == (kind == .perceptron ? "index,prediction" : "index,prediction,p_a,p_b,p_c"))
        #expect(rows[1].hasPrefix("0,a") && rows[2].hasPrefix("1,b") && rows[3].hasPrefix("2,c"))
        if kind != .perceptron {
            let p = rows[1].split(separator: ",").dropFirst(2).map { Double($0)! }
            #expect(abs(p.reduce(0, +) - 1) < 1e-5)
        }

        let summary = try UseJobs.summary(out)
        #expect(summary.contains("model: \(kind.rawValue)") && summary.contains("test: accuracy"))
        if kind == .knn { #expect(summary.contains("keeps the training set: 96 rows x 2 features (192 values")) }
        if kind == .naiveBayes { #expect(summary.contains("gaussian")) }

        // resume says plainly that these models do not resume, and leaves the run as it was.
        let resumed = RunJobTests.message { try TrainJob.resume(out, dataDir: nil, verbosity: .silent, output: { _ in }) }
        #expect(resumed == "[resume] \(out) holds a \(kind.rawValue) model: classic models are fitted in one pass and do not resume; "
                + "train again with `myelin train --model \(kind.rawValue)`")
        #expect(ClassicJob.isClassicRun(out))
    }

    @Test func naiveBayesIsMultinomialOnCountsWithoutScaling() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = "w1,w2,w3,kind\n"
        for i in 0..<60 { text += i % 2 == 0 ? "\(i % 5 + 2),0,\(i % 3),spam\n" : "0,\(i % 4 + 1),\(i % 3),ham\n" }
        try text.write(toFile: dir + "/counts.csv", atomically: true, encoding: .utf8)
        let request = ClassicRequest(source: .csv(path: dir + "/counts.csv", label: "kind", task: nil),
                                     classic: ClassicSettings(kind: .naiveBayes), out: dir + "/run")
        let metrics = try ClassicJob.train(request, output: { _ in })
        #expect(metrics["accuracy"] == 1)
        let description = try ClassicJob.readDescription(dir + "/run")
        #expect(description.classic.naiveBayes == "multinomial" && description.scaling.input == nil)
        #expect(try UseJobs.summary(dir + "/run").contains("raw counts"))
    }

    @Test func compareGivesARowPerModelOnOneSplit() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var request = CompareRequest(source: .csv(path: Self.blobsCSV(in: dir), label: "group", task: nil))
        request.networkEpochs = 2
        request.trees = 5
        request.out = dir + "/compare"
        let result = try CompareJob.run(request, output: { _ in })
        #expect(result.rows.map(\.model) == CompareRequest.models)
        #expect(result.trainingRows == 96 && result.testRows == 24 && result.classes == 3)
        for row in result.rows {
            #expect(row.skipped == nil && row.accuracy != nil && row.seconds != nil, "\(row)")
        }
        #expect(result.rows.filter { $0.model != "network" }.allSatisfy { $0.accuracy! >= 0.9 })
        let table = CompareJob.table(result)
        #expect(table.split(separator: "\n").count == 1 + CompareRequest.models.count + 1)
        let saved = try RunFolder.decoder.decode(CompareResult.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/compare/compare.json")))
        #expect(saved.rows == result.rows)
        // Models estimated to take minutes are listed as skipped unless asked for.
        let slow = CompareJob.estimatedSeconds(.forest, settings: ClassicSettings(kind: .forest), rows: 60_000, features: 784,
                                               classes: 10, testRows: 10_000)
        #expect(slow > CompareJob.budgetSeconds)
        for kind in [ClassicKind.tree, .perceptron] {
            #expect(CompareJob.estimatedSeconds(kind, settings: ClassicSettings(kind: kind), rows: 60_000, features: 784,
                                                classes: 10, testRows: 10_000) > CompareJob.budgetSeconds, "\(kind) on MNIST")
        }
        #expect(CompareJob.estimatedSeconds(.knn, settings: ClassicSettings(kind: .knn), rows: 60_000, features: 784,
                                            classes: 10, testRows: 10_000) < CompareJob.budgetSeconds)
        request.include = ["boosting"]
        #expect(RunJobTests.message { _ = try CompareJob.run(request, output: { _ in }) }.hasPrefix("[compare] unknown model 'boosting'"))
    }

    @Test func badInputThrowsOneLineAndWritesNothing() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = Self.blobsCSV(in: dir)
        func failure(_ request: ClassicRequest) -> String {
            let message = RunJobTests.message { try ClassicJob.train(request, output: { _ in }) }
            #expect(!message.contains("\n"))
            #expect(!FileManager.default.fileExists(atPath: request.out!), "\(request.out!) written on failure")
            return message
        }
        var knn = Self.request(csv, .knn, out: dir + "/knn")
        knn.classic.neighbors = 500
        #expect(failure(knn) == "[train] --neighbors 500 is more than the 96 training rows")

        var constant = "x,y,group\n"
        for i in 0..<40 { constant += "1,2,\(i % 2 == 0 ? "a" : "b")\n" }
        try constant.write(toFile: dir + "/constant.csv", atomically: true, encoding: .utf8)
        var flat = Self.request(dir + "/constant.csv", .tree, out: dir + "/flat")
        flat.source = .csv(path: dir + "/constant.csv", label: "group", task: nil)
        #expect(failure(flat) == "[train] all 2 features are constant over the 32 training rows; there is nothing to learn from")

        // A class whose only rows all go to the test part: nothing to learn it from.
        var rare = "x,y,group\n"
        for i in 0..<40 { rare += "\(i),\(i % 7),\(i % 2 == 0 ? "a" : "b")\n" }
        rare += "5,5,c\n6,6,c\n"
        try rare.write(toFile: dir + "/rare.csv", atomically: true, encoding: .utf8)
        var empty = Self.request(dir + "/rare.csv", .knn, out: dir + "/empty")
        empty.classic.neighbors = 3
        empty.settings.testSplit = 0.8
        #expect(failure(empty).hasPrefix("[train] class 'c' has no training rows (of 8)"))

        var network = Self.request(csv, .knn, out: dir + "/net")
        network.networkOptions = ["--hidden"]
        #expect(failure(network) == "[train] --hidden is an option of the networks; --model knn takes --neighbors K")
        var misplaced = Self.request(csv, .tree, out: dir + "/tree")
        misplaced.classicOptions = ["--neighbors"]
        #expect(failure(misplaced) == "[train] --neighbors does not apply to --model tree; it takes --max-depth and --seed")
        var zero = Self.request(csv, .knn, out: dir + "/zero")
        zero.classic.neighbors = 0
        #expect(failure(zero) == "[train] --neighbors must be positive, got 0")

        var regression = "x,price\n"
        for i in 0..<30 { regression += "\(i),\(Double(i) * 1.5)\n" }
        try regression.write(toFile: dir + "/houses.csv", atomically: true, encoding: .utf8)
        let values = ClassicRequest(source: .csv(path: dir + "/houses.csv", label: "price", task: nil),
                                    classic: ClassicSettings(kind: .forest), out: dir + "/houses")
        #expect(failure(values).hasPrefix("[train] --model forest learns classes; this data is a regression task"))

        // An unknown --model names the classic models too.
        var unknown = TrainRequest(source: .csv(path: csv, label: "group", task: nil), out: dir + "/u")
        unknown.model = "svm"
        #expect(RunJobTests.message { try unknown.validate() }.contains("perceptron, knn, naive-bayes, tree, forest"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "staging folders left: \(leftovers)")
    }

    @Test(.enabled(if: irisPresent, "needs the catalogue's iris ($MYELIN_DATA)"))
    func knnOnIrisRoundTrips() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = ClassicSettings(kind: .knn)
        s.neighbors = 3
        let metrics = try ClassicJob.train(ClassicRequest(source: .catalogue(name: "iris"), classic: s, out: dir + "/iris"), output: { _ in })
        #expect(metrics["accuracy"]! >= 0.9)
        let (evaluation, classes) = try UseJobs.evaluate(dir + "/iris", source: nil, dataDir: nil)
        #expect(classes.count == 3 && evaluation.metrics["accuracy"] == metrics["accuracy"])
        #expect(try UseJobs.summary(dir + "/iris").contains("keeps the training set: 120 rows x 4 features"))

        // New flowers as a CSV with their own column names (no schema in a catalogue run).
        let flowers = dir + "/flowers.csv"
        try "petal_width,sepal_length,sepal_width,petal_length,species\n0.2,5.1,3.5,1.4,setosa\n2.3,6.7,3.0,5.2,virginica\n"
            .write(toFile: flowers, atomically: true, encoding: .utf8)
        let text = try UseJobs.predict(dir + "/iris", input: flowers)
        #expect(text.hasPrefix("index,prediction,p_setosa,p_versicolor,p_virginica\n0,setosa,") && text.contains("\n1,virginica,"))
        let (onFlowers, _) = try UseJobs.evaluate(dir + "/iris", source: .csv(path: flowers, label: "", task: nil), dataDir: nil)
        #expect(onFlowers.count == 2 && onFlowers.metrics["accuracy"] == 1)
        // The labels as class indices, as the catalogue's iris.csv stores them (it said "unseen class '0'").
        let indexed = dir + "/indexed.csv"
        try "5.1,3.5,1.4,0.2,0\n6.7,3.0,5.2,2.3,2.0\n".write(toFile: indexed, atomically: true, encoding: .utf8)
        let (onIndices, _) = try UseJobs.evaluate(dir + "/iris", source: .csv(path: indexed, label: "", task: nil), dataDir: nil)
        #expect(onIndices.count == 2 && onIndices.metrics["accuracy"] == 1)
    }
}
