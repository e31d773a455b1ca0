import Foundation
import Testing
import MyelinCore
import MyelinData
@testable import MyelinRun

/// `myelin word2vec`'s jobs: a folder with vectors and metadata, queries, and bad input.
@Suite struct WordVectorJobTests {
    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "myelin-w2v-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A text where "cat" and "dog" share every context, and "sun" and "moon" share others.
    static func text(in dir: String) -> String {
        var lines: [String] = []
        let g = RandomGenerator(seed: 5)
        for i in 0..<300 {
            let pet = i % 2 == 0 ? "cat" : "dog", sky = i % 2 == 0 ? "Sun" : "moon"
            let r = Tensor.randint(0, 3, shape: [2], generator: g).ints
            lines.append("the \(pet) \(["eats", "sleeps", "purrs"][r[0]]) at home. the \(sky) \(["shines", "rises", "sets"][r[1]]) in the sky.")
        }
        let path = dir + "/text.txt"
        try! lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let settings = SkipGram(dimension: 12, window: 3, epochs: 3, minCount: 2, subsample: 0, seed: 3)

    @Test func trainsAndQueriesAFolder() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/vectors"
        let metadata = try WordVectorJobs.train(text: Self.text(in: dir), out: out, settings: Self.settings)
        #expect(metadata.words == 15)
        #expect(metadata.corpusTokens == 300 * 11)
        #expect(metadata.tokensProcessed == 300 * 11 * 3)
        #expect(metadata.settings == Self.settings)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["vectors.txt", "word2vec.json"])
        let saved = try JSONDecoder().decode(WordVectorJobs.Metadata.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/word2vec.json")))
        #expect(saved == metadata)
        let vectors = try WordVectorJobs.load(folder: out)
        #expect(vectors.count == 15 && vectors.dimension == 12)
        #expect(try WordVectorJobs.nearest(folder: out, word: "cat", k: 1).map(\.word) == ["dog"])
        // Queries are tried as given, then lower-cased, as the text was.
        #expect(try WordVectorJobs.nearest(folder: out, word: "SUN", k: 1).map(\.word) == ["moon"])
        #expect(try WordVectorJobs.analogy(folder: out, words: "cat, dog ,moon", k: 2).count == 2)
        let lines = WordVectorJobs.lines([Neighbour(word: "dog", similarity: 0.98766)])
        #expect(lines == "dog\t0.9877\n")
        // A second run into the same folder needs overwrite.
        #expect(thrownMessage { try WordVectorJobs.train(text: Self.text(in: dir), out: out, settings: Self.settings) }
            == "[word2vec] \(out)/vectors.txt exists; pass --overwrite to replace it")
        _ = try WordVectorJobs.train(text: Self.text(in: dir), out: out, settings: Self.settings, overwrite: true)
    }

    @Test func badInputThrowsAndLeavesNothing() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let empty = dir + "/empty.txt"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(thrownMessage { try WordVectorJobs.train(text: empty, out: dir + "/a", settings: Self.settings) }
            == "[word2vec] \(empty): the text has no words")
        #expect(!FileManager.default.fileExists(atPath: dir + "/a"))
        #expect(thrownMessage { try WordVectorJobs.train(text: dir + "/missing.txt", out: dir + "/b", settings: Self.settings) }?
            .hasPrefix("[word2vec] cannot read the text: [file] \(dir)/missing.txt: cannot open for reading") == true)
        #expect(thrownMessage { try WordVectorJobs.train(text: empty, out: dir + "/c", settings: SkipGram(dimension: 0)) }
            == "[word2vec] dimension (--dim) must be in 1...10000, got 0")
        #expect(thrownMessage { try WordVectorJobs.train(text: empty, out: empty, settings: Self.settings) }
            == "[word2vec] \(empty) is a file, not a folder")
        #expect(!FileManager.default.fileExists(atPath: dir + "/b") && !FileManager.default.fileExists(atPath: dir + "/c"))

        #expect(thrownMessage { try WordVectorJobs.load(folder: dir + "/none") } == "[word2vec] \(dir)/none: no such folder")
        #expect(thrownMessage { try WordVectorJobs.load(folder: dir) }
            == "[word2vec] \(dir) holds no vectors.txt; train one with --text FILE --out \(dir)")
        try "a 1 2\nb 3\n".write(toFile: dir + "/vectors.txt", atomically: true, encoding: .utf8)
        #expect(thrownMessage { try WordVectorJobs.nearest(folder: dir, word: "a", k: 3) }
            == "[word2vec] \(dir)/vectors.txt:2: word 'b' has 1 numbers but line 1 has 2")
        try "a 1 2\nb 3 4\n".write(toFile: dir + "/vectors.txt", atomically: true, encoding: .utf8)
        #expect(thrownMessage { try WordVectorJobs.nearest(folder: dir, word: "zebra", k: 3) }
            == "[word2vec] unknown word 'zebra' (the vectors have 2 words)")
        #expect(thrownMessage { try WordVectorJobs.nearest(folder: dir, word: "a", k: 0) } == "[word2vec] --k must be in 1...100000, got 0")
        #expect(thrownMessage { try WordVectorJobs.analogy(folder: dir, words: "a,b", k: 1) }
            == "[word2vec] --analogy needs three words a,b,c (a - b + c), got 'a,b'")
        #expect(thrownMessage { try WordVectorJobs.analogy(folder: dir, words: "a,,b", k: 1) }
            == "[word2vec] --analogy needs three words a,b,c (a - b + c), got 'a,,b'")
    }
}

private func thrownMessage<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return "\(error)"
    }
}
