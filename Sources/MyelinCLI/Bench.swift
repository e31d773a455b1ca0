import ArgumentParser
import Foundation
import Myelin
import MyelinBench

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the workloads of shared/bench and print their JSON lines.")

    @Option(help: "Comma-separated workload names (default: all implemented).")
    var workloads: String?

    @Option(parsing: .unconditional, help: "Threads for Myelin's kernels and BLAS.")
    var threads: Int = 2

    @Option(help: "Also append the JSON lines to this file.")
    var out: String?

    @Flag(help: "Run each workload in a fresh process and add its peak_rss_mb line, as the peers' --subprocess.")
    var subprocess = false

    /// Set on the child of `--subprocess`: print this process's peak resident memory at the end.
    @Flag(help: .hidden)
    var reportPeakRss = false

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
        func emit(_ line: String) {
            print(line)
            fflush(nil)  // every stream: Swift 6 rejects naming C's mutable global `stdout`
            sink?.write(Data((line + "\n").utf8))
        }
        for name in names {
            if subprocess {
                for line in try child(name) { emit(line) }
                continue
            }
            let results: [Benchmarks.Result]
            do { results = try Benchmarks.run(name) } catch { fail("\(error)") }
            for r in results { emit(r.jsonLine(threads: threads)) }
        }
        if reportPeakRss {
            // The whole process's peak, runtime and libraries included, as the peers measure theirs.
            var usage = rusage()
            #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let bytesPerUnit = 1024.0   // ru_maxrss is in KiB on Linux, bytes on macOS
            #else
            getrusage(RUSAGE_SELF, &usage)
            let bytesPerUnit = 1.0
            #endif
            let workload = names.count == 1 ? names[0] : names.joined(separator: ",")
            emit(Benchmarks.Result(workload: workload, metric: "peak_rss_mb", value: Double(usage.ru_maxrss) * bytesPerUnit / 1_048_576, unit: "MiB",
                                   better: "lower").jsonLine(threads: threads))
        }
    }

    /// The lines of `name` run alone in a fresh `myelin bench` process, its peak memory last.
    private func child(_ name: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        #if os(macOS)
        process.executableURL = Bundle.main.executableURL
        #endif
        process.arguments = ["bench", "--workloads", name, "--threads", "\(threads)", "--report-peak-rss"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { fail("[bench] workload \(name) failed in its own process (status \(process.terminationStatus))") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
