import Foundation
import Testing
import MyelinClassic
import MyelinCore
import MyelinData
@testable import MyelinRun

/// Runs on the catalogue's generated sets (`--data spirals --count N --noise X --data-seed S`): the
/// run folder records the set, so evaluate, summary and resume make the same points again.
@Suite struct GeneratedDataJobTests {
    static let spirals = GeneratedSet("spirals", count: 120, noise: 0.1, seed: 5)

    static func request(_ set: GeneratedSet = spirals, out: String, epochs: Int = 1) -> TrainRequest {
        RunJobTests.request(source: .generated(set: set), out: out, epochs: epochs)
    }

    @Test func aRunFolderRegeneratesItsData() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        var lines: [String] = []
        let metrics = try TrainJob.train(Self.request(out: out), output: { lines.append($0) })
        #expect(lines.contains { $0.hasPrefix("data: spirals (120 points, noise 0.1, data seed 5): ") })
        let description = try RunFolder(out).readDescription()
        #expect(description.source == .generated(set: Self.spirals))
        #expect(description.classNames == ["0", "1"] && description.featureNames == ["x1", "x2"])
        #expect(FileManager.default.fileExists(atPath: RunFolder(out).boundary))

        // evaluate makes the same test part: the figures train reported, on the points the catalogue makes.
        let (evaluation, classes) = try UseJobs.evaluate(out, source: nil, dataDir: nil)
        #expect(classes == ["0", "1"] && evaluation.count == 24)
        #expect(abs(evaluation.metrics["accuracy"]! - metrics["accuracy"]!) < 1e-12)
        #expect(abs(evaluation.metrics["loss"]! - metrics["loss"]!) < 1e-9)
        var settings = description.settings
        settings.validationSplit = 0
        let reloaded = try RunData.load(description.source, dataDir: nil, settings: settings)
        let expected = try Catalogue().load(Self.spirals, seed: description.settings.seed, testFraction: description.settings.testSplit)
        #expect(reloaded.rawTest.inputs.floats == expected.test.inputs.floats && reloaded.rawTest.targets.ints == expected.test.targets.ints)
        // Other points of the same set: --data spirals --data-seed 6 on evaluate.
        let other = GeneratedSet("spirals", count: 120, noise: 0.1, seed: 6)
        let (elsewhere, _) = try UseJobs.evaluate(out, source: .generated(set: other), dataDir: nil)
        #expect(elsewhere.count == 24)
        #expect(try UseJobs.summary(out).contains("data: spirals (120 points, noise 0.1, data seed 5), classification"))
    }

    @Test func resumeTrainsOnTheSamePoints() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainJob.train(Self.request(out: dir + "/straight", epochs: 2), output: { _ in })
        try TrainJob.train(Self.request(out: dir + "/resumed", epochs: 1), output: { _ in })
        try TrainJob.resume(dir + "/resumed", epochs: 2, dataDir: nil, verbosity: .silent, output: { _ in })
        let a = try Safetensors.load(dir + "/straight/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/resumed/model.safetensors").tensors
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys { #expect(a[key]!.floats == b[key]!.floats, "\(key) differs") }
    }

    @Test func badValuesAreOneLineErrorsAndWriteNothing() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        let cases: [(GeneratedSet, String)] = [
            (GeneratedSet("spirals", count: 0), "[train] --count must be between 2 and 1000000, got 0"),
            (GeneratedSet("spirals", count: 2_000_000), "[train] --count must be between 2 and 1000000, got 2000000"),
            (GeneratedSet("moons", noise: -1), "[train] --noise must be in [0, 10], got -1.0"),
            (GeneratedSet("moons", noise: .nan), "[train] --noise must be in [0, 10], got nan"),
        ]
        for (set, message) in cases {
            #expect(RunJobTests.message { try TrainJob.train(Self.request(set, out: out), output: { _ in }) } == message)
            var classic = ClassicRequest(source: .generated(set: set), classic: ClassicSettings(kind: .knn), out: out)
            classic.settings.seed = 1
            #expect(RunJobTests.message { try ClassicJob.train(classic, output: { _ in }) } == message)
            #expect(RunJobTests.message { _ = try CompareJob.run(CompareRequest(source: .generated(set: set)), output: { _ in }) }
                == message.replacingOccurrences(of: "[train]", with: "[compare]"))
        }
        #expect(RunJobTests.message { try TrainJob.train(Self.request(GeneratedSet("spirals", count: 4), out: out), output: { _ in }) }
            == "[train] --test-split 0.2 leaves 3 of 4 rows for training; at least 4 are needed (a larger --count gives more)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func classicModelsAndCompareTakeThemToo() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let circles = GeneratedSet("circles", count: 200)
        let out = dir + "/knn"
        let metrics = try ClassicJob.train(ClassicRequest(source: .generated(set: circles), classic: ClassicSettings(kind: .knn), out: out),
                                           output: { _ in })
        #expect(metrics["accuracy"]! >= 0.9)
        let (evaluation, _) = try UseJobs.evaluate(out, source: nil, dataDir: nil)
        #expect(evaluation.count == 40 && evaluation.metrics["accuracy"] == metrics["accuracy"])
        #expect(try UseJobs.summary(out).contains("data: circles (200 points, noise 0.1, data seed 0)"))

        var request = CompareRequest(source: .generated(set: GeneratedSet("gaussians", count: 200)))
        request.networkEpochs = 2
        request.trees = 5
        let result = try CompareJob.run(request, output: { _ in })
        #expect(result.data == "gaussians (200 points, noise 0, data seed 0)")
        #expect(result.trainingRows == 160 && result.testRows == 40 && result.classes == 2)
        #expect(result.rows.filter { $0.model != "network" }.allSatisfy { ($0.accuracy ?? 0) >= 0.9 })
    }
}
