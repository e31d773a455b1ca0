#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MyelinCore

/// Trains word vectors as word2vec's skip-gram with negative sampling (Mikolov et al., 2013):
/// each word predicts the words around it; frequent words are subsampled, negatives come from the
/// unigram distribution raised to 0.75, and the learning rate falls linearly to 0.01% of its start.
///
/// Words are the lower-cased tokens of `Vocabulary.tokenize`; those seen fewer than `minCount`
/// times are dropped before windows are formed, as in word2vec. With `threads: 1` a seed gives the
/// same vectors on every run; more threads update the shared vectors without locks (word2vec's
/// "Hogwild" scheme), which is faster but not reproducible bit for bit.
///
/// ```swift
/// let text = try String(contentsOfFile: "tinyshakespeare/input.txt", encoding: .utf8)
/// let result = try SkipGram(dimension: 100, window: 5, epochs: 5, seed: 1).train(text: text)
/// try result.vectors.nearest("king", k: 5)     // [(queen, 0.81), ...]
/// ```
public struct SkipGram: Sendable, Equatable, Codable {
    /// Size of each word vector.
    public var dimension: Int
    /// Largest distance between a word and a context word (each window is drawn from 1...window).
    public var window: Int
    /// Noise words per positive pair.
    public var negative: Int
    /// Passes over the text.
    public var epochs: Int
    /// Words seen fewer times are left out.
    public var minCount: Int
    /// Starting learning rate (word2vec's `alpha`, 0.025 for skip-gram).
    public var learningRate: Double
    /// Subsampling threshold `t` (word2vec's `sample`): a word of frequency f is kept with
    /// probability (√(f/t) + 1)·t/f; 0 keeps every word.
    public var subsample: Double
    public var seed: UInt64
    /// Worker threads (at most `Threading.count` run at once); 1 is reproducible.
    public var threads: Int

    public init(dimension: Int = 100, window: Int = 5, negative: Int = 5, epochs: Int = 5, minCount: Int = 5,
                learningRate: Double = 0.025, subsample: Double = 1e-3, seed: UInt64 = 1, threads: Int = 1) {
        self.dimension = dimension
        self.window = window
        self.negative = negative
        self.epochs = epochs
        self.minCount = minCount
        self.learningRate = learningRate
        self.subsample = subsample
        self.seed = seed
        self.threads = threads
    }

    /// What a training run did, besides the vectors.
    public struct Result: Sendable {
        public let vectors: WordVectors
        /// Tokens of the text that are in the vocabulary (one pass).
        public let corpusTokens: Int
        /// Tokens read over all epochs (before subsampling): `corpusTokens · epochs`.
        public let tokensProcessed: Int
        /// Wall time of the training loop (not counting tokenisation and vocabulary).
        public let seconds: Double
        public var tokensPerSecond: Double { seconds > 0 ? Double(tokensProcessed) / seconds : 0 }
    }

    /// Checks the settings; a bad one throws `DataError` (`[word2vec] dimension must be ...`).
    public func validate() throws {
        func check(_ ok: Bool, _ reason: String) throws {
            if !ok { throw DataError(op: "word2vec", reason: reason) }
        }
        try check(dimension >= 1 && dimension <= 10_000, "dimension (--dim) must be in 1...10000, got \(dimension)")
        try check(window >= 1 && window <= 1000, "window must be in 1...1000, got \(window)")
        try check(negative >= 1 && negative <= 1000, "negative must be in 1...1000, got \(negative)")
        try check(epochs >= 1 && epochs <= 100_000, "epochs must be in 1...100000, got \(epochs)")
        try check(minCount >= 1, "minCount (--min-count) must be at least 1, got \(minCount)")
        try check(learningRate > 0 && learningRate.isFinite, "learning rate (--learning-rate) must be positive and finite, got \(learningRate)")
        try check(subsample >= 0 && subsample.isFinite, "subsample must be finite and non-negative, got \(subsample)")
        try check(threads >= 1 && threads <= 256, "threads must be in 1...256, got \(threads)")
    }

    /// Trains on `text`, tokenised by `Vocabulary.tokenize` into one stream of words.
    public func train(text: String) throws -> Result {
        try train(sentences: [Vocabulary.tokenize(text)])
    }

    /// Trains on tokenised sentences; windows never cross from one sentence into the next.
    /// Throws `DataError` for bad settings or a text with no word seen `minCount` times.
    public func train(sentences: [[String]]) throws -> Result {
        try validate()
        var counts: [String: Int] = [:]
        var total = 0
        for s in sentences {
            total += s.count
            for w in s { counts[w, default: 0] += 1 }
        }
        if total == 0 { throw DataError(op: "word2vec", reason: "the text has no words") }
        let words = counts.filter { $0.value >= minCount }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        if words.isEmpty {
            throw DataError(op: "word2vec", reason: "no word occurs at least \(minCount) times (the text has \(total) words, \(counts.count) distinct); lower minCount (--min-count)")
        }
        var index: [String: Int32] = [:]
        for (i, w) in words.enumerated() { index[w] = Int32(i) }
        // The corpus as word numbers, -1 between sentences; out-of-vocabulary words are dropped.
        var ids: [Int32] = []
        ids.reserveCapacity(total + sentences.count)
        for s in sentences {
            for w in s { if let i = index[w] { ids.append(i) } }
            if ids.last != -1 { ids.append(-1) }
        }
        let frequencies = words.map { counts[$0]! }
        let corpusTokens = frequencies.reduce(0, +)
        let model = SkipGramModel(settings: self, frequencies: frequencies, corpusTokens: corpusTokens)
        let start = monotonicSeconds()
        model.run(ids)
        let seconds = monotonicSeconds() - start
        // Too large a rate makes the updates grow without bound: refuse vectors of NaN or inf.
        if let bad = model.inputVectors.firstIndex(where: { !$0.isFinite }) {
            throw DataError(op: "word2vec", reason: "training diverged at learning rate \(learningRate): the vector of '\(words[bad / dimension])' "
                            + "holds \(model.inputVectors[bad]); lower --learning-rate (word2vec's default is 0.025)")
        }
        let vectors = WordVectors(words: words, dimension: dimension, values: model.inputVectors)
        return Result(vectors: vectors, corpusTokens: corpusTokens, tokensProcessed: corpusTokens * epochs, seconds: seconds)
    }
}

/// The arrays and the loop of one training run.
private final class SkipGramModel {
    let s: SkipGram
    let vocabularySize: Int
    /// Input (word) vectors, word2vec's `syn0`: the result.
    var inputVectors: [Float]
    /// Output (context) vectors for negative sampling, word2vec's `syn1neg`, starting at zero.
    var outputVectors: [Float]
    /// Probability of keeping each word when subsampling.
    let keep: [Float]
    /// Walker's alias table of the noise distribution, unigram counts to the power 0.75.
    let noiseProbability: [Float]
    let noiseAlias: [Int32]

    init(settings: SkipGram, frequencies: [Int], corpusTokens: Int) {
        s = settings
        vocabularySize = frequencies.count
        var rng = SplitMix(seed: settings.seed)
        let d = settings.dimension
        // word2vec's start: uniform in [-0.5, 0.5) / dimension.
        inputVectors = (0..<(frequencies.count * d)).map { _ in (rng.nextFloat() - 0.5) / Float(d) }
        outputVectors = [Float](repeating: 0, count: frequencies.count * d)
        let threshold = settings.subsample * Double(corpusTokens)
        keep = frequencies.map { f in
            guard threshold > 0 else { return 1 }
            let c = Double(f)
            return Float(min(1, ((c / threshold).squareRoot() + 1) * threshold / c))
        }
        (noiseProbability, noiseAlias) = SkipGramModel.aliasTable(frequencies.map { pow(Double($0), 0.75) })
    }

    /// Vose's alias method: draw a column uniformly, keep it with its probability, else take its
    /// alias. Exact, and two random numbers per draw (word2vec uses a table of 10⁸ entries).
    static func aliasTable(_ weights: [Double]) -> ([Float], [Int32]) {
        let n = weights.count
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(n) / total }
        var probability = [Float](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        for i in 0..<n { alias[i] = Int32(i) }
        var small = (0..<n).filter { scaled[$0] < 1 }, large = (0..<n).filter { scaled[$0] >= 1 }
        while let l = small.popLast(), let g = large.last {
            probability[l] = Float(scaled[l])
            alias[l] = Int32(g)
            scaled[g] -= 1 - scaled[l]
            if scaled[g] < 1 {
                large.removeLast()
                small.append(g)
            }
        }
        return (probability, alias)
    }

    /// The epochs over the corpus, each split into `threads` contiguous parts that train at once.
    func run(_ ids: [Int32]) {
        let n = ids.count
        let parts = min(s.threads, max(1, n / 1000))
        // `parallelFor` makes min(parts, Threading.count) chunks of at least `grain` tokens.
        let grain = parts == 1 ? Int.max : n / parts
        ids.withUnsafeBufferPointer { corpus in
            inputVectors.withUnsafeMutableBufferPointer { syn0 in
                outputVectors.withUnsafeMutableBufferPointer { syn1 in
                    // One parallel job per epoch rather than one for the whole run: a worker
                    // thread the pool starts during a job may miss that job (it waits for the
                    // next), so a single job could run every part on the calling thread.
                    for epoch in 0..<s.epochs {
                        Threading.parallelFor(n, grain: grain) { lo, hi in
                            // Several chunks write the same vectors without locks (Hogwild): a lost
                            // update costs a little accuracy, never memory safety (plain Float stores).
                            train(corpus, lo, hi, epoch, syn0.baseAddress!, syn1.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// One epoch over `corpus[lo..<hi]`.
    private func train(_ corpus: UnsafeBufferPointer<Int32>, _ lo: Int, _ hi: Int, _ epoch: Int,
                       _ syn0: UnsafeMutablePointer<Float>, _ syn1: UnsafeMutablePointer<Float>) {
        var rng = SplitMix(seed: s.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(lo + 1) &+ 0xD1B5_4A32_D192_ED03 &* UInt64(epoch + 1))
        let d = s.dimension, window = s.window, negative = s.negative, v = UInt64(vocabularySize)
        let startRate = Float(s.learningRate)
        let planned = Double(s.epochs) * Double(hi - lo) + 1
        var sentence: [Int32] = []
        sentence.reserveCapacity(1000)
        var gradient = [Float](repeating: 0, count: d)
        // Tokens read in this part so far, over all epochs: the learning rate falls with it.
        var read = epoch * (hi - lo)
        keep.withUnsafeBufferPointer { keep in
        noiseProbability.withUnsafeBufferPointer { noiseProbability in
        noiseAlias.withUnsafeBufferPointer { noiseAlias in
        gradient.withUnsafeMutableBufferPointer { neu1e in
            let e = neu1e.baseAddress!
            var position = lo
            while position < hi {
                // Gather one sentence (at most 1000 kept words, as word2vec), subsampled.
                sentence.removeAll(keepingCapacity: true)
                while position < hi && sentence.count < 1000 {
                    let w = corpus[position]
                    position += 1
                    if w < 0 {
                        if sentence.isEmpty { continue }
                        break
                    }
                    read += 1
                    if keep[Int(w)] < 1 && keep[Int(w)] < rng.nextFloat() { continue }
                    sentence.append(w)
                }
                let alpha = startRate * Float(max(1e-4, 1 - Double(read) / planned))
                let count = sentence.count
                for p in 0..<count {
                    let word = Int(sentence[p])
                    let reach = window - Int(rng.next() % UInt64(window))
                    for c in max(0, p - reach)...min(count - 1, p + reach) where c != p {
                        let l1 = syn0 + Int(sentence[c]) * d
                        for j in 0..<d { e[j] = 0 }
                        for k in 0...negative {
                            let target: Int, label: Float
                            if k == 0 {
                                target = word
                                label = 1
                            } else {
                                let column = Int(rng.next() % v)
                                target = rng.nextFloat() < noiseProbability[column] ? column : Int(noiseAlias[column])
                                if target == word { continue }
                                label = 0
                            }
                            let l2 = syn1 + target * d
                            var f: Float = 0
                            for j in 0..<d { f += l1[j] * l2[j] }
                            let g = (label - 1 / (1 + expf(-f))) * alpha
                            for j in 0..<d { e[j] += g * l2[j] }
                            for j in 0..<d { l2[j] += g * l1[j] }
                        }
                        for j in 0..<d { l1[j] += e[j] }
                    }
                }
            }
        }
        }
        }
        }
    }
}

/// The training loop's generator: SplitMix64, as taking `RandomGenerator`'s lock for each of the
/// hundreds of millions of draws would cost more than the arithmetic.
private typealias SplitMix = SplitMix64
