import Foundation
import Testing
import MyelinCore
import MyelinData
@testable import MyelinRun

private let digitsPresent = Catalogue(dataDir: nil, allowDownload: false).status("digits") != nil

/// `digits` (a table of 8x8 pixel counts) read as images when the network convolves or pools.
@Suite struct DigitsImagesTests {
    @Test func layoutDividesAndReshapes() {
        let layout = ImageLayout(shape: [1, 2, 2], maxValue: 16)
        let images = layout.images(Tensor([[0.0, 4, 8, 16], [16, 12, 2, 1]]))
        #expect(images.shape == [2, 1, 2, 2] && images.dtype == .float32)
        #expect(images.floats == [0, 0.25, 0.5, 1, 1, 0.75, 0.125, 0.0625])
        #expect(Catalogue.imageLayout("digits") == ImageLayout(shape: [1, 8, 8], maxValue: 16))
        #expect(Catalogue.imageLayout("iris") == nil && Catalogue.imageLayout("mnist") == nil)
        // Refused before any file is looked for.
        let catalogue = Catalogue(dataDir: "/nonexistent", environment: [:], allowDownload: false)
        #expect(RunJobTests.message { _ = try catalogue.loadImages("iris") }
                == "[data] 'iris' is not a table of pixels; only digits can be read as images")
    }

    @Test func imagesAreChosenForConvolutionsOnly() {
        func reads(_ model: String, layers: String? = nil, data: String = "digits") -> Bool {
            var r = TrainRequest(source: .catalogue(name: data), out: nil)
            r.model = model
            r.layers = layers
            return TrainJob.readsImages(r)
        }
        #expect(reads("cnn") && !reads("mlp") && !reads("linear"))
        #expect(reads("mlp", layers: "conv:8:3,relu,flatten,32") && reads("mlp", layers: "maxpool:2,flatten"))
        #expect(reads("mlp", layers: "bn,avgpool:2") && reads("mlp", layers: "gap"))
        #expect(!reads("mlp", layers: "64,relu,dropout:0.1") && !reads("cnn", layers: "64,relu"))
        // A list that cannot take 8x8 images is left to the usual error.
        #expect(!reads("mlp", layers: "conv:8:3,maxpool:16"))
        #expect(!reads("cnn", data: "iris") && !reads("cnn", data: "mnist"))
    }

    @Test(.enabled(if: digitsPresent, "needs the catalogue's digits ($MYELIN_DATA)"))
    func convolutionsTrainEvaluateAndPredictOnDigits() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var request = RunJobTests.request(source: .catalogue(name: "digits"), out: dir + "/cnn", epochs: 2)
        request.layers = "conv:4:3,relu,maxpool:2,flatten"
        request.settings.batchSize = 64
        var lines: [String] = []
        let metrics = try TrainJob.train(request, output: { lines.append($0) })
        #expect(lines.contains { $0.hasPrefix("digits: the 64 pixel values read as 1x8x8 images (divided by 16, in [0, 1])") })
        #expect(lines.contains { $0.contains("examples of shape [1, 8, 8]") })
        let description = try RunFolder(dir + "/cnn").readDescription()
        #expect(description.settings.images == true && description.spec.inputShape == [1, 8, 8])
        #expect(description.scaling.input == nil)
        #expect(try UseJobs.summary(dir + "/cnn").contains("data: digits, classification (read as 1x8x8 images)"))

        // evaluate reads the run's own test part as images again.
        let (own, _) = try UseJobs.evaluate(dir + "/cnn", source: nil, dataDir: nil)
        #expect(own.metrics["accuracy"] == metrics["accuracy"])

        // A CSV of pixel counts in the catalogue file's layout (no header: 64 pixels, then the
        // digit) gives what the model gives on the same rows as images.
        let data = try Catalogue(allowDownload: false).loadImages("digits")
        let rows = Array(data.test.inputs.reshape([-1, 64]).floats.prefix(3 * 64))
        let labels = data.test.targets.ints.prefix(3)
        var csv = ""
        for r in 0..<3 {
            csv += rows[(r * 64)..<((r + 1) * 64)].map { String(Int(($0 * 16).rounded())) }.joined(separator: ",")
            csv += ",\(labels[labels.startIndex + r])\n"
        }
        let withLabel = dir + "/three.csv", pixels = dir + "/pixels.csv"
        try csv.write(toFile: withLabel, atomically: true, encoding: .utf8)
        try csv.split(separator: "\n").map { $0.split(separator: ",").prefix(64).joined(separator: ",") + "\n" }.joined()
            .write(toFile: pixels, atomically: true, encoding: .utf8)
        let predicted = try UseJobs.predict(dir + "/cnn", input: pixels).split(separator: "\n").dropFirst()
        let built = try RunModel(description, weights: RunFolder(dir + "/cnn").weights)
        let expected = built.predict(data.test.inputs[0..<3]).0.ints
        #expect(predicted.map { Int($0.split(separator: ",")[1])! } == expected)
        let (onCSV, _) = try UseJobs.evaluate(dir + "/cnn", source: .csv(path: withLabel, label: "", task: nil), dataDir: nil)
        #expect(onCSV.count == 3)
        #expect(onCSV.metrics["accuracy"] == Double(zip(expected, labels).filter { $0 == $1 }.count) / 3)

        // A dense network on digits keeps the 64 standardised features.
        let dense = try TrainJob.train(RunJobTests.request(source: .catalogue(name: "digits"), out: dir + "/mlp", epochs: 1),
                                       output: { _ in })
        #expect(dense["accuracy"] != nil)
        let flat = try RunFolder(dir + "/mlp").readDescription()
        #expect(flat.settings.images == nil && flat.spec.inputShape == [64] && flat.scaling.input != nil)
    }
}
