import Foundation
import MyelinCore
import MyelinPretrained
@testable import MyelinRun
import MyelinTestSupport
import Testing

/// `myelin embed` and `myelin search` as a library: text files, output files, nearest lines.
@Suite struct EmbedJobTests {
    func file(_ text: String) -> String {
        let path = temporaryTestPath("embed", suffix: ".txt")
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func linesOfATextFile() throws {
        #expect(try EmbedJob.lines(of: file("a\r\nb\n\nc\n")) == ["a", "b", "", "c"])
        #expect(try EmbedJob.lines(of: file("a\n \nc"), skippingBlank: true) == ["a", "c"])
        #expect(try EmbedJob.lines(of: file("")) == [])
        #expect(try EmbedJob.lines(of: file("\n")) == [""])
    }

    @Test func vectorsAreWrittenAsNPYOrCSV() throws {
        let v = Tensor(shape: [2, 3], scalars: [1, 0.5, -2, 0, 0.25, 3] as [Float])
        let npy = temporaryTestPath("embed", suffix: ".npy")
        try EmbedJob.write(v, to: npy)
        #expect(try Tensor(npyFile: npy).floats == v.floats)
        let csv = temporaryTestPath("embed", suffix: ".csv")
        try EmbedJob.write(v, to: csv)
        #expect(try String(contentsOfFile: csv, encoding: .utf8) == "1.0,0.5,-2.0\n0.0,0.25,3.0\n")
        let bad = temporaryTestPath("embed", suffix: ".txt")
        #expect(throws: RunError.self) { try EmbedJob.write(v, to: bad) }
        #expect(!FileManager.default.fileExists(atPath: bad))
        #expect(EmbedJob.preview("a\tb\nc", width: 60) == "a b c")
        #expect(EmbedJob.preview(String(repeating: "x", count: 70), width: 10) == "xxxxxxxxx…")
    }

    @Test(.enabled(if: sharedModels() != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func searchFindsTheLineNearestInMeaning() throws {
        let encoder = try Pretrained(modelsDir: sharedModels()!, environment: [:], allowDownload: false).load("all-MiniLM-L6-v2")
        let lines = ["A man is eating food.", "", "A woman is playing violin.", "A man is riding a horse.", "The stock market fell today."]
        let found = try EmbedJob.search("someone plays music", lines: lines, k: 2, encoder: encoder)
        #expect(found.map(\.line) == [3, 4] || found.first?.line == 3)
        #expect(found[0].text == "A woman is playing violin." && found[0].score > found[1].score)
        #expect(try EmbedJob.search("x", lines: lines, k: 10, encoder: encoder).count == 4)
        #expect(throws: RunError.self) { try EmbedJob.search("x", lines: ["", " "], k: 1, encoder: encoder) }
    }
}
