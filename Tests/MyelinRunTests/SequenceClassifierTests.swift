import Foundation
import Testing
import MyelinCore
import MyelinData
import MyelinNN
@testable import MyelinRun

/// `SequenceClassifier` over padded word ids (`myelin train --data sms-spam --model lstm|gru`).
@Suite struct SequenceClassifierTests {
    @Test(arguments: [CharLanguageModel.Cell.lstm, .gru])
    func paddingDoesNotChangeAMessagesLogits(_ cell: CharLanguageModel.Cell) {
        let vocabulary = Vocabulary.words(in: ["free prize call now", "see you at home"])
        let data = TokenSequenceDataset(texts: ["free prize call now", "see you", ""], labels: [1, 0, 0], vocabulary: vocabulary,
                                        maxLength: 10)
        let model = SequenceClassifier(vocabulary: vocabulary.count, embedding: 4, hidden: 5, layers: 2, cell: cell, classes: 2,
                                       generator: RandomGenerator(seed: 3))
        let batch = data.batch(at: [0, 1, 2])
        #expect(batch.inputs.shape == [3, 4])
        #expect(batch.inputs.scalars(as: Int64.self)[6...7].allSatisfy { $0 == Int64(vocabulary.count) }, "padded at the end")
        let together = withoutGrad { model(batch.inputs) }.doubles
        for row in 0..<3 {
            let alone = withoutGrad { model(data.batch(at: [row]).inputs) }.doubles
            for k in 0..<2 { #expect(abs(alone[k] - together[row * 2 + k]) < 1e-5, "row \(row)") }
        }
    }

    @Test func aClassifierRunIsNotALanguageModel() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(LanguageModelJobTests.message { _ = try SequenceClassifierJob.predict(dir, messages: ["hi"]) }
            .hasPrefix("[predict] \(dir) is not a sequence-classifier run"))
    }

    /// Reviews whose class is given by their first words.
    static func reviewsCSV(in dir: String) -> String {
        let good = ["great film loved it", "wonderful acting", "a joy to watch"], bad = ["boring and long", "awful plot", "waste of time"]
        var text = "id,review,sentiment\n"
        for i in 0..<120 {
            let positive = i % 2 == 0
            text += "\(i),\"\((positive ? good : bad)[i % 3]), \((good + bad)[(i * 7) % 6])\",\(positive ? "pos" : "neg")\n"
        }
        let path = dir + "/reviews.csv"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func request(out: String, epochs: Int) -> LanguageModelRequest {
        var r = LanguageModelRequest(source: .file(path: ""), out: out)
        r.cell = .gru
        r.hidden = 8
        r.layers = 1
        r.embedding = 6
        r.sequenceLength = 20
        var s = TrainSettings()
        s.epochs = epochs
        s.batchSize = 16
        s.learningRate = 0.02
        s.testSplit = 0.2
        s.validationSplit = 0.1
        r.settings = s
        r.verbosity = .silent
        return r
    }

    @Test func aCSVTextColumnTrainsPredictsAndResumesBitForBit() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = SequenceSource.csv(path: Self.reviewsCSV(in: dir), textColumn: "review", label: "sentiment")
        try SequenceClassifierJob.train(source, Self.request(out: dir + "/straight", epochs: 4), output: { _ in })
        let results = try RunFolder.decoder.decode([String: [String: Double]].self,
                                                   from: Data(contentsOf: URL(fileURLWithPath: dir + "/straight/results.json")))
        #expect(Set(results["test"]!.keys) == ["loss", "accuracy"])
        let csv = try SequenceClassifierJob.predict(dir + "/straight", messages: ["loved it", "awful plot"])
        #expect(csv.hasPrefix("index,prediction,p_neg,p_pos\n0,"))
        try SequenceClassifierJob.train(source, Self.request(out: dir + "/resumed", epochs: 2), output: { _ in })
        try TrainJob.resume(dir + "/resumed", epochs: 4, dataDir: nil, verbosity: .silent, output: { _ in })
        let a = try Safetensors.load(dir + "/straight/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/resumed/model.safetensors").tensors
        for key in a.keys { #expect(a[key]!.floats == b[key]!.floats, "\(key) differs") }
        let missing = LanguageModelJobTests.message {
            try SequenceClassifierJob.train(.csv(path: dir + "/reviews.csv", textColumn: "text", label: "sentiment"),
                                            Self.request(out: dir + "/bad", epochs: 1), output: { _ in })
        }
        #expect(missing.contains("no text column text") && !FileManager.default.fileExists(atPath: dir + "/bad"))
    }
}
