import ArgumentParser
import Foundation
import Myelin
import MyelinBench

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the workloads of shared/bench and print their JSON lines.")

    @Option(help: "Comma-separated workload names (default: all implemented).")
    var workloads: String?

    @Option(help: "Threads for Myelin's kernels and BLAS.")
    var threads: Int = 2

    @Option(help: "Also append the JSON lines to this file.")
    var out: String?

    func run() throws {
        if threads < 1 { fail("[bench] --threads must be at least 1, got \(threads)") }
        Threading.count = threads
        let names = workloads?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            ?? Benchmarks.defaultWorkloads
        var sink: FileHandle?
        if let out {
            if !FileManager.default.fileExists(atPath: out) {
                guard FileManager.default.createFile(atPath: out, contents: nil) else { fail("[bench] cannot create \(out)") }
            }
            guard let h = FileHandle(forWritingAtPath: out) else { fail("[bench] cannot write \(out)") }
            h.seekToEndOfFile()
            sink = h
        }
        for name in names {
            let results: [Benchmarks.Result]
            do { results = try Benchmarks.run(name) } catch { fail("\(error)") }
            for r in results {
                let line = r.jsonLine(threads: threads)
                print(line)
                fflush(nil)  // every stream: Swift 6 rejects naming C's mutable global `stdout`
                sink?.write(Data((line + "\n").utf8))
            }
        }
    }
}
