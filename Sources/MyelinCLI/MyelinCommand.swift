import ArgumentParser
import Foundation
import Myelin
import MyelinBench

@main
struct MyelinCommand: ParsableCommand {
    /// Parses and runs the command; a usage error prints one line and exits 1, like every other
    /// error (ArgumentParser's own would print several lines and exit 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success {
                // --help and --version.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: "; ")
            fail("[myelin] \(message) (see `myelin help`)")
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "myelin",
        abstract: "Train, evaluate and benchmark neural networks with Myelin.",
        version: Benchmarks.version,
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Datasets.self, Resume.self, Filters.self, Demo.self, Tour.self, Bench.self, WordVec.self, Generate.self, Cluster.self, Compare.self, Dashboard.self, Playground.self, Embed.self, Search.self, Convert.self, Allreduce.self]
    )
}

/// Prints one line to stderr and exits non-zero: the CLI's way to report bad input.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(1)
}
