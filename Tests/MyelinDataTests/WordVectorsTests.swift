import Foundation
import Testing
import MyelinCore
@testable import MyelinData

/// Word vectors: skip-gram training on a corpus where the analogies are known, nearest neighbours
/// and analogy arithmetic on hand-made vectors, the text format and its malformed files.
@Suite struct WordVectorsTests {
    /// Six people, each a gender and a rank. Every sentence names one person beside two words of
    /// its gender (he/his/him or she/her/hers) and two of its rank (throne/crown/palace,
    /// field/farm/village, school/toy/play), in shuffled order, so a person's contexts are the sum
    /// of its gender's and its rank's and king - man + woman should land on queen.
    static func royalCorpus(sentencesPerPerson: Int, seed: UInt64) -> [[String]] {
        let people = [("king", 0, 0), ("queen", 1, 0), ("man", 0, 1), ("woman", 1, 1), ("boy", 0, 2), ("girl", 1, 2)]
        let gender = [["he", "his", "him"], ["she", "her", "hers"]]
        let rank = [["throne", "crown", "palace"], ["field", "farm", "village"], ["school", "toy", "play"]]
        let g = RandomGenerator(seed: seed)
        var sentences: [[String]] = []
        for _ in 0..<sentencesPerPerson {
            for (name, gi, ri) in people {
                let picks = Tensor.randint(0, 3, shape: [4], generator: g).ints
                var s = [name, gender[gi][picks[0]], gender[gi][picks[1]], rank[ri][picks[2]], rank[ri][picks[3]]]
                let order = Tensor.permutation(s.count, generator: g).ints
                s = order.map { s[$0] }
                sentences.append(s)
            }
        }
        return sentences
    }

    static let small = SkipGram(dimension: 16, window: 4, negative: 5, epochs: 8, minCount: 1,
                                learningRate: 0.025, subsample: 0, seed: 7)

    @Test func skipGramLearnsTheAnalogies() throws {
        let corpus = Self.royalCorpus(sentencesPerPerson: 150, seed: 1)
        let result = try Self.small.train(sentences: corpus)
        let v = result.vectors
        #expect(v.count == 6 + 6 + 9)
        #expect(v.dimension == 16)
        #expect(result.corpusTokens == 150 * 6 * 5)
        #expect(result.tokensProcessed == result.corpusTokens * 8)
        #expect(try v.analogy("king", "man", "woman").first?.word == "queen")
        #expect(try v.analogy("queen", "woman", "man").first?.word == "king")
        #expect(try v.analogy("boy", "man", "woman").first?.word == "girl")
        #expect(try v.analogy("girl", "queen", "king").first?.word == "boy")
        // A gender word is nearest the other words of its gender.
        let he = try v.nearest("he", k: 2).map(\.word)
        #expect(Set(he) == ["his", "him"])
        // The same seed gives the same vectors; another seed others.
        #expect(try Self.small.train(sentences: corpus).vectors == v)
        var other = Self.small
        other.seed = 8
        #expect(try other.train(sentences: corpus).vectors != v)
    }

    /// Two threads update the shared vectors without locks: not reproducible, but as good.
    @Test func twoThreadsLearnTheAnalogiesToo() throws {
        var settings = Self.small
        settings.threads = 2
        let v = try settings.train(sentences: Self.royalCorpus(sentencesPerPerson: 150, seed: 2)).vectors
        #expect(try v.analogy("king", "man", "woman").first?.word == "queen")
        #expect(try v.analogy("boy", "man", "woman").first?.word == "girl")
    }

    @Test func vocabularyIsByCountThenAlphabet() throws {
        // Words under minCount are dropped; the rest are ordered by count, ties alphabetically.
        let text = "b a a c b a d d d d z"
        let v = try SkipGram(dimension: 4, window: 1, epochs: 1, minCount: 2).train(text: text).vectors
        #expect(v.words == ["d", "a", "b"])
        #expect(!v.contains("c") && !v.contains("z"))
        let r = try SkipGram(dimension: 4, window: 2, epochs: 3, minCount: 1).train(text: "The cat, the DOG.")
        #expect(r.vectors.words == ["the", "cat", "dog"])
        #expect(r.corpusTokens == 4 && r.tokensProcessed == 12)
    }

    @Test func badSettingsAndEmptyTextThrow() {
        func message(_ s: SkipGram, _ text: String = "a b c") -> String? { thrownMessage { try s.train(text: text) } }
        #expect(message(SkipGram(dimension: 0)) == "[word2vec] dimension (--dim) must be in 1...10000, got 0")
        #expect(message(SkipGram(window: 0)) == "[word2vec] window must be in 1...1000, got 0")
        #expect(message(SkipGram(negative: -1)) == "[word2vec] negative must be in 1...1000, got -1")
        #expect(message(SkipGram(epochs: 0)) == "[word2vec] epochs must be in 1...100000, got 0")
        #expect(message(SkipGram(minCount: 0)) == "[word2vec] minCount (--min-count) must be at least 1, got 0")
        #expect(message(SkipGram(learningRate: .nan)) == "[word2vec] learning rate (--learning-rate) must be positive and finite, got nan")
        #expect(message(SkipGram(subsample: -1)) == "[word2vec] subsample must be finite and non-negative, got -1.0")
        #expect(message(SkipGram(threads: 0)) == "[word2vec] threads must be in 1...256, got 0")
        #expect(message(SkipGram(), " ,.; \n") == "[word2vec] the text has no words")
        #expect(message(SkipGram(minCount: 2), "a b c") == "[word2vec] no word occurs at least 2 times (the text has 3 words, 3 distinct); lower minCount (--min-count)")
        #expect(message(SkipGram(minCount: 2), "a b c a a") == nil)
    }

    /// Too large a learning rate drives the vectors to NaN: an error, not a file of NaN (which
    /// `myelin word2vec --learning-rate 1` wrote before, exit 0).
    @Test func divergenceThrows() throws {
        let words = ["the", "king", "queen", "a", "crown", "wears", "man", "woman", "and", "rules"]
        let g = RandomGenerator(seed: 4)
        let text = Tensor.randint(0, words.count, shape: [3000], generator: g).ints.map { words[$0] }.joined(separator: " ")
        let settings = SkipGram(dimension: 16, window: 3, epochs: 2, minCount: 1, learningRate: 5)
        let m = try #require(thrownMessage { try settings.train(text: text) })
        #expect(m.hasPrefix("[word2vec] training diverged at learning rate 5.0: the vector of '"), "\(m)")
        #expect(m.hasSuffix("lower --learning-rate (word2vec's default is 0.025)"))
        #expect(thrownMessage { try SkipGram(dimension: 16, window: 3, epochs: 2, minCount: 1).train(text: text) } == nil)
    }

    // MARK: Nearest and analogies on vectors made by hand

    static let handMade = WordVectors(words: ["east", "north", "northeast", "west", "zero", "south"], dimension: 2,
                                      values: [1, 0, 0, 1, 3, 3, -2, 0, 0, 0, 0, -1])

    @Test func nearestIsByCosine() throws {
        let v = Self.handMade
        let near = try v.nearest("east", k: 3)
        #expect(near.map(\.word) == ["northeast", "north", "zero"])
        #expect(abs(near[0].similarity - Float(0.5).squareRoot()) < 1e-6)
        #expect(near[1].similarity == 0 && near[2].similarity == 0)  // north before zero: earlier word
        #expect(try v.nearest("east", k: 10).map(\.word) == ["northeast", "north", "zero", "south", "west"])
        #expect(try v.nearest("west", k: 1).map(\.word) == ["north"])
        #expect(v.nearest(to: [1, 0.1], k: 2, excluding: ["east"]).map(\.word) == ["northeast", "north"])
        #expect(v.vector("northeast") == [3, 3] && v.vector("up") == nil)
        #expect(v.tensor.shape == [6, 2])
        #expect(thrownMessage { try v.nearest("up") } == "[word2vec] unknown word 'up' (the vectors have 6 words)")
    }

    @Test func analogyIsThreeCosAddWithoutTheQueryWords() throws {
        // east - west + north = (1,0) + (1,0) + (0,1) on unit vectors: northeast; the query words,
        // though close, are left out.
        let v = Self.handMade
        #expect(try v.analogy("east", "west", "north", k: 2).map(\.word) == ["northeast", "zero"])
        // north - east + south = (-1, 0): west.
        #expect(try v.analogy("north", "east", "south").map(\.word) == ["west"])
        #expect(thrownMessage { try v.analogy("north", "east", "up") } == "[word2vec] unknown word 'up' (the vectors have 6 words)")
    }

    // MARK: The text format

    @Test func theFormatRoundTripsExactly() throws {
        let values: [Float] = [0.1, -0.0, 1e-30, 3.4028235e38, -123.456, 1, .leastNonzeroMagnitude, -7.25e-12, 0.333333343]
        let v = WordVectors(words: ["the", "naïve", "o'er"], dimension: 3, values: values)
        let withHeader = v.formatted()
        #expect(String(decoding: withHeader, as: UTF8.self).hasPrefix("3 3\nthe 0.1 -0.0 1e-30\n"))
        let back = try WordVectors(parsing: withHeader)
        #expect(back == v)
        #expect(back.values.map(\.bitPattern) == values.map(\.bitPattern))
        let glove = v.formatted(header: false)
        #expect(String(decoding: glove, as: UTF8.self).hasPrefix("the 0.1 -0.0 1e-30\nnaïve "))
        #expect(try WordVectors(parsing: glove) == v)
        let dir = makeTempDir("vectors")
        try v.write(to: dir + "/v.txt")
        #expect(try WordVectors.read(path: dir + "/v.txt") == v)
        #expect(try AtomicFile.read(dir + "/v.txt") == withHeader)
        // Tabs, CRLF line ends, blank lines and a missing final newline are read too.
        let loose = try WordVectors(parsing: Array("2 2\r\n\r\na\t1 2\r\n\n  b 3\t4".utf8))
        #expect(loose.words == ["a", "b"] && loose.values == [1, 2, 3, 4])
    }

    @Test func malformedFilesThrowWithTheLine() {
        func message(_ text: String) -> String? { thrownMessage { try WordVectors(parsing: Array(text.utf8), file: "v.txt") } }
        #expect(message("") == "[word2vec] v.txt: file has no vectors")
        #expect(message(" \n\n \n") == "[word2vec] v.txt: file has no vectors")
        #expect(message("3 2\n") == "[word2vec] v.txt: file has a header but no vectors")
        #expect(message("2 3\na 1 2 3\nb 1 2\n") == "[word2vec] v.txt:3: word 'b' has 2 numbers but the header says 3")
        #expect(message("a 1 2 3\nb 1 2 3\nc 1 2 3 4\n") == "[word2vec] v.txt:3: word 'c' has 4 numbers but line 1 has 3")
        #expect(message("a 1 2\nb 1 x2\n") == "[word2vec] v.txt:2: 'x2' (number 2 of word 'b') is not a number")
        #expect(message("a 1 2\nb 1 2.5.1\n") == "[word2vec] v.txt:2: '2.5.1' (number 2 of word 'b') is not a number")
        #expect(message("a 1 nan\n") == "[word2vec] v.txt:1: number 2 of word 'a' is nan; vectors must be finite float32")
        #expect(message("a inf 1\n") == "[word2vec] v.txt:1: number 1 of word 'a' is inf; vectors must be finite float32")
        #expect(message("a 1e39 1\n") == "[word2vec] v.txt:1: number 1 of word 'a' is 1e39; vectors must be finite float32")
        #expect(message("a 1 2\nb 3 4\na 5 6\n") == "[word2vec] v.txt:3: word 'a' is also on line 1")
        #expect(message("3 2\na 1 2\nb 3 4\n") == "[word2vec] v.txt:1: the header says 3 words but the file has 2")
        #expect(message("1 2\na 1 2\nb 3 4\n") == "[word2vec] v.txt:3: the header says 1 words but the file has more")
        #expect(message("0 2\n") == "[word2vec] v.txt:1: header says 0 words of dimension 2; both must be positive")
        #expect(message("lonely\n") == "[word2vec] v.txt:1: word 'lonely' has no numbers")
        // Control bytes in the file come out escaped, on one line.
        #expect(message("a 1 2\nb\u{1b}[31m 1 \u{7}\n") == "[word2vec] v.txt:2: '\\x07' (number 2 of word 'b\\x1b[31m') is not a number")
        // Without a file name the line is still given.
        #expect(thrownMessage { try WordVectors(parsing: Array("a 1\nb\n".utf8)) } == "[word2vec] vectors:2: word 'b' has 0 numbers but line 1 has 1")
    }

    @Test func readingChecksTheFileFirst() throws {
        let dir = makeTempDir("vectors")
        writeText("a 1 2\nb 3 4\n", dir + "/v.txt")
        #expect(try WordVectors.read(path: dir + "/v.txt").count == 2)
        #expect(thrownMessage { try WordVectors.read(path: dir + "/v.txt", maxBytes: 11) }
            == "[word2vec] \(dir)/v.txt: file is 12 bytes, more than the limit of 11")
        #expect(thrownMessage { try WordVectors.read(path: dir + "/none.txt") }
            == "[word2vec] \(dir)/none.txt: cannot open for reading: No such file or directory")
        #expect(thrownMessage { try WordVectors.read(path: dir) } == "[word2vec] \(dir): is a folder, not a vectors file")
        #expect(thrownMessage { try Self.handMade.write(to: dir + "/no/such/folder.txt") }?.hasPrefix("[word2vec] \(dir)/no/such/folder.txt: cannot create a temporary file") == true)
    }
}
