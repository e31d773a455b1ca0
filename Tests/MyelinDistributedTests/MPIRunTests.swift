import Foundation
import Testing
import MyelinCore

/// Real `mpirun -np 2` jobs of the `myelin` command built beside the tests. Skipped (and reported
/// as skipped) where `mpirun` or the binary is missing: `make test` installs Open MPI and builds
/// `myelin` first.
enum MPIJob {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let myelin: String? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("myelin").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()
    static var available: Bool { mpirun != nil && myelin != nil }

    struct Outcome {
        var status: Int32
        var output: String
        var seconds: Double
    }

    /// Runs a command with Open MPI allowed as root, returning its status and merged output.
    static func run(_ arguments: [String], timeout: Double = 120, environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["MYELIN_NUM_THREADS"] = "1"
        env.merge(environment) { $1 }
        process.environment = env
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mpirun-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        let start = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(50_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: file)
        return Outcome(status: process.terminationStatus, output: output, seconds: Date().timeIntervalSince(start))
    }

    static func mpi(_ np: Int, _ args: [String], timeout: Double = 120) throws -> Outcome {
        try run([mpirun!, "-np", "\(np)", "--oversubscribe", "--bind-to", "none", myelin!] + args, timeout: timeout)
    }

    static func temporaryFolder() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-mpi-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func results(_ folder: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/results.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

}

@Suite(.serialized, .enabled(if: MPIJob.available, "needs mpirun (openmpi-bin) and the myelin binary beside the tests"))
struct MPIRunTests {
    @Test func allreduceOverTwoProcessesSumsCorrectly() throws {
        let outcome = try MPIJob.mpi(2, ["allreduce", "--count", "100000", "--iterations", "2"])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("over 2 ranks") && outcome.output.contains("sums correct"), "\(outcome.output)")
    }

    @Test func trainingOnTwoRanksKeepsTheirWeightsIdentical() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = try MPIJob.mpi(2, ["train", "--data", "circles", "--count", "400", "--hidden", "16", "--epochs", "3",
                                       "--batch-size", "16", "--quiet", "--out", dir + "/run"])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("global batch 32"), "\(outcome.output)")
        let training = try MPIJob.results(dir + "/run")["training"] as? [String: Double] ?? [:]
        #expect(training["ranks"] == 2)
        #expect(training["weights_identical_on_ranks"] == 1)
    }

    @Test func anUnsupportedModelIsOneLineAndExitOne() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = try MPIJob.mpi(2, ["train", "--data", "circles", "--model", "knn", "--out", dir + "/knn"])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("[train] --model knn does not run under MPI"), "\(outcome.output)")
    }

    /// `--sync-bn` needs a bn layer, in any spelling the layer spec takes.
    @Test func syncBatchNormNeedsABatchNormLayer() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["train", "--data", "circles", "--count", "200", "--epochs", "1", "--sync-bn", "--quiet"]
        let none = try MPIJob.mpi(2, common + ["--hidden", "8", "--out", dir + "/none"])
        #expect(none.status != 0)
        #expect(none.output.contains("[train] --sync-bn synchronises bn layers; the network has none"), "\(none.output)")
        let spelled = try MPIJob.mpi(2, common + ["--layers", "dense:8,batchnorm,relu", "--out", dir + "/bn"])
        #expect(spelled.status == 0, "\(spelled.output)")
    }

    @Test func aKilledRankStopsTheJobAndTheCheckpointResumes() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/run"
        // Rank 1 is killed once the run folder has its first checkpoint.
        let script = """
        if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
          ( while [ ! -f \(run)/checkpoint.safetensors ]; do sleep 0.1; done; sleep 0.5; kill -9 $$ ) &
        fi
        exec \(MPIJob.myelin!) train --data spirals --count 2000 --hidden 32,32 --epochs 200 --batch-size 8 --quiet --out \(run)
        """
        let outcome = try MPIJob.run([MPIJob.mpirun!, "-np", "2", "--oversubscribe", "--bind-to", "none", "/bin/sh", "-c", script], timeout: 120)
        #expect(outcome.status != 0, "\(outcome.output)")
        #expect(outcome.output.contains("rank 1"), "\(outcome.output)")
        #expect(outcome.seconds < 100)
        // The last checkpoint loads: the run continues from it on two ranks for one more epoch.
        let logged = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").count - 1
        #expect(logged >= 1)
        let resumed = try MPIJob.mpi(2, ["resume", run, "--epochs", "\(logged + 1)", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("resuming \(run) at epoch"), "\(resumed.output)")
        let training = try MPIJob.results(run)["training"] as? [String: Double] ?? [:]
        #expect(training["weights_identical_on_ranks"] == 1)
    }

    @Test func aHungRankEndsTheJobThroughTheWatchdog() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/run"
        // Rank 1 stops itself (SIGSTOP: alive, never answering) once the first checkpoint is written.
        let script = """
        if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
          ( while [ ! -f \(run)/checkpoint.safetensors ]; do sleep 0.1; done; kill -STOP $$ ) &
        fi
        exec \(MPIJob.myelin!) train --data spirals --count 2000 --hidden 32,32 --epochs 200 --batch-size 8 --quiet --out \(run)
        """
        let outcome = try MPIJob.run([MPIJob.mpirun!, "-np", "2", "--oversubscribe", "--bind-to", "none", "/bin/sh", "-c", script],
                                     timeout: 120, environment: ["MYELIN_MPI_TIMEOUT": "3"])
        #expect(outcome.status != 0, "\(outcome.output)")
        #expect(outcome.output.contains("rank 0 waited") && outcome.output.contains("ending the job"), "\(outcome.output)")
        #expect(outcome.seconds < 100)
    }

    @Test func resumingOnTheSameRanksIsBitIdentical() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = ["--data", "spirals", "--count", "600", "--hidden", "32", "--dropout", "0.2", "--batch-size", "16",
                       "--no-cosine", "--quiet"]
        let full = try MPIJob.mpi(2, ["train"] + options + ["--epochs", "4", "--out", dir + "/full"])
        let part = try MPIJob.mpi(2, ["train"] + options + ["--epochs", "2", "--out", dir + "/part"])
        let resumed = try MPIJob.mpi(2, ["resume", dir + "/part", "--epochs", "4", "--quiet"])
        #expect(full.status == 0 && part.status == 0 && resumed.status == 0, "\(full.output)\(part.output)\(resumed.output)")
        let a = try Safetensors.load(dir + "/full/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/part/model.safetensors").tensors
        #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
        for (name, t) in a {
            #expect(t.scalars(as: Float.self) == b[name]?.scalars(as: Float.self), "\(name)")
        }
    }

    /// Another number of ranks continues the run (the contract: not bit-identical, but
    /// training goes on from the checkpoint): 2 ranks then one process, one process then 2 ranks.
    @Test func resumingOnAnotherNumberOfRanksContinues() throws {
        let dir = MPIJob.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = ["--data", "spirals", "--count", "600", "--hidden", "32", "--batch-size", "16", "--no-cosine", "--quiet"]
        let twoRanks = try MPIJob.mpi(2, ["train"] + options + ["--epochs", "2", "--out", dir + "/two"])
        let oneProcess = try MPIJob.run([MPIJob.myelin!, "train"] + options + ["--epochs", "2", "--out", dir + "/one"])
        #expect(twoRanks.status == 0 && oneProcess.status == 0, "\(twoRanks.output)\(oneProcess.output)")
        let before = try Safetensors.load(dir + "/two/model.safetensors").tensors

        let onOne = try MPIJob.run([MPIJob.myelin!, "resume", dir + "/two", "--epochs", "4", "--quiet"])
        let onTwo = try MPIJob.mpi(2, ["resume", dir + "/one", "--epochs", "4", "--quiet"])
        #expect(onOne.status == 0, "\(onOne.output)")
        #expect(onTwo.status == 0, "\(onTwo.output)")
        for run in ["two", "one"] {
            let lines = try String(contentsOfFile: dir + "/\(run)/metrics.csv", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 5, "\(run): \(lines)")   // a header and four epochs
        }
        // The resumed run trained on: its weights moved from the 2-epoch checkpoint.
        let after = try Safetensors.load(dir + "/two/model.safetensors").tensors
        #expect(after.keys.sorted() == before.keys.sorted() && !after.isEmpty)
        #expect(after.contains { name, t in t.scalars(as: Float.self) != before[name]?.scalars(as: Float.self) })
    }
}
