import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// `myelin word2vec`: trains skip-gram word vectors on a text file, or queries a trained folder.
struct WordVec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word2vec",
        abstract: "Train word vectors (skip-gram, negative sampling) on a text file, or query them.",
        discussion: """
            Train:  myelin word2vec --text input.txt --out vectors/shakespeare \\
                        [--dim 100 --window 5 --epochs 5]
            Query:  myelin word2vec vectors/shakespeare --nearest king [--k 10]
                    myelin word2vec vectors/shakespeare --analogy king,man,woman
                    (the words nearest king - man + woman)
            """)

    @Argument(help: "A folder written by --out, to query.") var folder: String?
    @Option(help: "Text file to train on (words are lower-cased runs of letters, digits and apostrophes).") var text: String?
    @Option(help: "Folder to write vectors.txt and word2vec.json into.") var out: String?
    @Option(parsing: .unconditional, help: "Vector size.") var dim = 100
    @Option(parsing: .unconditional, help: "Largest distance between a word and its context words.") var window = 5
    @Option(parsing: .unconditional, help: "Noise words per positive pair.") var negative = 5
    @Option(parsing: .unconditional, help: "Passes over the text.") var epochs = 5
    @Option(parsing: .unconditional, help: "Leave out words seen fewer times.") var minCount = 5
    @Option(parsing: .unconditional, help: "Starting learning rate (falls linearly).") var learningRate = 0.025
    @Option(parsing: .unconditional, help: "Subsampling threshold for frequent words (0: keep all).") var subsample = 1e-3
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Training threads; 1 gives the same vectors for a seed on every run.") var threads = 1
    @Flag(help: "Replace vectors already in --out.") var overwrite = false
    @Option(help: "Print the nearest words of this word.") var nearest: String?
    @Option(help: "Print the answers to a - b + c, given as a,b,c.") var analogy: String?
    @Option(parsing: .unconditional, help: "How many words to print.") var k: Int?

    func run() throws {
        runOrFail {
            if let text {
                guard folder == nil, nearest == nil, analogy == nil, k == nil else {
                    throw RunError(op: "word2vec", "train with --text FILE --out DIR, or query with DIR --nearest WORD / --analogy a,b,c; not both")
                }
                guard let out else { throw RunError(op: "word2vec", "--text needs --out DIR to write the vectors into") }
                let settings = SkipGram(dimension: dim, window: window, negative: negative, epochs: epochs, minCount: minCount,
                                        learningRate: learningRate, subsample: subsample, seed: seed, threads: threads)
                let m = try WordVectorJobs.train(text: text, out: out, settings: settings, overwrite: overwrite)
                print("\(m.words) words, \(m.corpusTokens) tokens x \(settings.epochs) epochs in "
                      + String(format: "%.2f s (%.0f tokens/s, %d thread%@)", m.seconds, m.tokensPerSecond, m.threadsUsed, m.threadsUsed == 1 ? "" : "s"))
                print("wrote \((out as NSString).appendingPathComponent(WordVectorJobs.vectorsFile))")
                return
            }
            guard let folder else {
                throw RunError(op: "word2vec", "give --text FILE --out DIR to train, or DIR --nearest WORD / --analogy a,b,c to query")
            }
            switch (nearest, analogy) {
            case (let word?, nil):
                print(WordVectorJobs.lines(try WordVectorJobs.nearest(folder: folder, word: word, k: k ?? 10)), terminator: "")
            case (nil, let words?):
                print(WordVectorJobs.lines(try WordVectorJobs.analogy(folder: folder, words: words, k: k ?? 1)), terminator: "")
            default:
                throw RunError(op: "word2vec", "give one of --nearest WORD or --analogy a,b,c to query \(folder)")
            }
        }
    }
}
