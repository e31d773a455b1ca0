import ArgumentParser
import Foundation
import Myelin
import MyelinRun

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a language-model run (myelin train --data tinyshakespeare).",
        discussion: """
        Examples:
          myelin generate runs/tinyshakespeare-1 --prompt "ROMEO:" --length 500 \\
              --temperature 0.8 --seed 1
          myelin generate runs/notes --top-k 10 --top-p 0.9
        """)
    @Argument(help: "The run folder.") var folder: String
    @Option(help: "Text the sample continues (every character must be in the model's vocabulary).") var prompt = ""
    @Option(parsing: .unconditional, help: "Characters to generate.") var length = 500
    @Option(parsing: .unconditional, help: "Divides the logits: below 1 sharper, above 1 flatter, 0 greedy.") var temperature = 0.8
    @Option(parsing: .unconditional, help: "Draw only among the K most likely characters.") var topK: Int?
    @Option(parsing: .unconditional, help: "Draw only among the most likely characters whose probabilities reach P.") var topP: Double?
    @Option(parsing: .unconditional, help: "Seed of the draws (default: a random one).") var seed: UInt64?

    func run() throws {
        runOrFail {
            let text = try LanguageModelJob.generate(folder, prompt: prompt, length: length, temperature: temperature, topK: topK,
                                                     topP: topP, seed: seed ?? UInt64.random(in: 0...UInt64.max))
            print(text)
        }
    }
}
