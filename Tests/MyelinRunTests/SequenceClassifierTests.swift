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
}
