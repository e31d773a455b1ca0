import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

@Suite struct ProgressTests {
    static func run(_ verbosity: Verbosity, epochs: Int = 2) throws -> String {
        let out = Captured()
        let model = mlp(seed: 1)
        let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.01), loss: .crossEntropy,
                              metrics: [Accuracy()], verbosity: verbosity, output: out.sink)
        let data = twoBlobs(40, seed: 2)
        try trainer.fit(DataLoader(data, batchSize: 10), epochs: epochs, validation: DataLoader(data, batchSize: 20))
        return out.text
    }

    @Test func epochLines() throws {
        let text = try Self.run(.epoch)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 3 && lines[2].isEmpty)
        let pattern = #"^epoch 1/2  loss \d\.\d{4}  accuracy \d\.\d{4}  val_loss \d\.\d{4}  val_accuracy \d\.\d{4}  \d+\.\ds  [\d,]+ samples/s$"#
        #expect(lines[0].range(of: pattern, options: .regularExpression) != nil, "\(lines[0])")
        #expect(lines[1].hasPrefix("epoch 2/2  loss "))
        #expect(!text.contains("\r"))
    }

    @Test func progressBar() throws {
        let text = try Self.run(.bar)
        #expect(text.hasPrefix("epoch 1/2\n\r1/4 [=======>......................]  0:00 < 0:00  "), "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines[0] == "epoch 1/2" && lines[2] == "epoch 2/2")
        for line in [lines[1], lines[3]] {
            // What the terminal shows: the last redraw of the line.
            let shown = line.components(separatedBy: "\r").last!
            let pattern = #"^4/4 \[={30}\]  \d+\.\ds  [\d,]+ samples/s  loss \d\.\d{4}  accuracy \d\.\d{4}  val_loss \d\.\d{4}  val_accuracy \d\.\d{4}\s*$"#
            #expect(shown.range(of: pattern, options: .regularExpression) != nil, "\(shown)")
            #expect(line.hasPrefix("\r1/4 [=======>"))
        }
    }

    @Test func silentPrintsNothing() throws {
        #expect(try Self.run(.silent).isEmpty)
    }

    @Test func formats() {
        #expect(4871.grouped == "4,871" && 1_234_567.grouped == "1,234,567" && 12.grouped == "12" && (-1234).grouped == "-1,234")
        #expect(Format.clock(7) == "0:07" && Format.clock(725) == "12:05" && Format.clock(3723) == "1:02:03")
        #expect(Format.value(0.12344) == "0.1234" && Format.value(.nan) == "nan" && Format.value(2e-6) == "2.0000e-06")
        #expect(Format.rate(4871, 1) == "4,871 samples/s")
        #expect(Verbosity.epoch.resolved == .epoch)
    }
}
