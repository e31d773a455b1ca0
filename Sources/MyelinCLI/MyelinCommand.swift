import ArgumentParser
import Foundation
import Myelin
import MyelinBench

@main
struct MyelinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "myelin",
        abstract: "Train, evaluate and benchmark neural networks with Myelin.",
        version: Benchmarks.version,
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Datasets.self, Resume.self, Filters.self, Demo.self, Tour.self, Bench.self]
    )
}

/// Prints one line to stderr and exits non-zero: the CLI's way to report bad input.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(1)
}
