import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// Where pretrained models are looked for, shared by `embed`, `search` and `train --encoder`.
struct ModelOptions: ParsableArguments {
    @Option(help: "The pretrained sentence encoder (known: \(Pretrained.entries.map(\.name).joined(separator: ", "))).")
    var encoder = "all-MiniLM-L6-v2"
    @Option(help: "Folder with pretrained models (<folder>/all-minilm-l6-v2/...); then $MYELIN_MODELS, then the cache, then the Hugging Face hub.")
    var modelsDir: String?
}

/// `myelin embed`: sentence vectors of texts from a pretrained encoder.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sentence vectors of texts from a pretrained encoder (all-MiniLM-L6-v2).",
        discussion: """
            myelin embed "A man is eating food." "A man is riding a horse."
            myelin embed --input sentences.txt --output vectors.npy   # one text a line; or .csv

            Vectors are unit length (cosine similarity is the dot product). Texts longer than \
            the encoder's 256 tokens are cut, as sentence-transformers does, and counted.
            """)

    @Argument(help: "Texts to embed.") var texts: [String] = []
    @Option(help: "A UTF-8 text file with one text a line.") var input: String?
    @Option(help: "Write the vectors here: .npy (float32) or .csv (one row a text).") var output: String?
    @Option(parsing: .unconditional, help: "Texts per batch.") var batchSize = 32
    @OptionGroup var models: ModelOptions

    func run() throws {
        runOrFail {
            guard texts.isEmpty != (input == nil) else {
                throw RunError(op: "embed", "give texts as arguments or --input FILE, not both")
            }
            guard (1...4096).contains(batchSize) else { throw RunError(op: "embed", "--batch-size must be between 1 and 4096, got \(batchSize)") }
            if let output { _ = try EmbedJob.outputKind(output) }
            let all = try input.map { try EmbedJob.lines(of: $0) } ?? texts
            guard !all.isEmpty else { throw RunError(op: "embed", "\(input ?? "the input") has no lines") }
            let encoder = try EmbedJob.encoder(models.encoder, modelsDir: models.modelsDir)
            let start = monotonicSeconds()
            let e = encoder.encode(all, batchSize: batchSize)
            let seconds = monotonicSeconds() - start
            let cut = e.truncated == 0 ? "" : ", \(e.truncated) cut to \(encoder.maxSequenceLength) tokens"
            if let output {
                try EmbedJob.write(e.vectors, to: output)
                print("\(all.count) text\(all.count == 1 ? "" : "s") -> [\(all.count), \(encoder.dimension)] in "
                      + String(format: "%.2f s", seconds) + "\(cut); wrote \(output)")
            } else {
                let values = e.vectors.floats, dim = encoder.dimension
                for r in 0..<all.count {
                    let head = values[r * dim..<r * dim + 6].map { String(format: "%.4f", $0) }.joined(separator: ", ")
                    print("\(r + 1): [\(head), ...] \(EmbedJob.preview(all[r]))")
                }
                print("\(dim) values a text\(cut); --output FILE.npy or .csv writes them all")
            }
        }
    }
}

/// `myelin search`: the lines of a text file nearest in meaning to a query.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The lines of a text file nearest in meaning to a query (cosine similarity of sentence vectors).",
        discussion: """
            myelin search --corpus faq.txt "how do I reset my password"
            myelin search --corpus sentences.txt --k 3 "a person plays music"
            """)

    @Argument(help: "What to look for.") var query: String
    @Option(help: "A UTF-8 text file, one text a line (blank lines are skipped).") var corpus: String
    @Option(parsing: .unconditional, help: "How many lines to show.") var k = 5
    @OptionGroup var models: ModelOptions

    func run() throws {
        runOrFail {
            guard k >= 1 else { throw RunError(op: "search", "--k must be at least 1, got \(k)") }
            let lines = try EmbedJob.lines(of: corpus)
            guard lines.contains(where: { !$0.allSatisfy(\.isWhitespace) }) else { throw RunError(op: "search", "\(corpus) has no text lines") }
            let encoder = try EmbedJob.encoder(models.encoder, modelsDir: models.modelsDir)
            for m in try EmbedJob.search(query, lines: lines, k: k, encoder: encoder) {
                print(String(format: "%.4f", m.score) + "  line \(m.line): \(EmbedJob.preview(m.text, width: 100))")
            }
        }
    }
}
