import ArgumentParser
import Foundation
import MyelinDashboard
import MyelinRun
import MyelinTrain

/// Where the dashboard listens: shared by `dashboard`, `train --dashboard` and `resume --dashboard`.
struct ServeOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "The dashboard's port (the next free one when it is taken; 0: any free port).") var port: Int?
    @Option(help: "The address to listen on (default 127.0.0.1; any other needs the access token printed at start).") var host: String?
    @Option(parsing: .unconditional, help: "Record weight, gradient and activation statistics every N steps (default 100 with --dashboard, else none).")
    var histogramEvery: Int?

    /// Throws when a serving option is given without `--dashboard`.
    func check(dashboard: Bool, op: String) throws {
        if !dashboard, port != nil || host != nil {
            throw RunError(op: op, "--port and --host are for the dashboard; add --dashboard")
        }
        if let port, !(0...65535).contains(port) { throw RunError(op: op, "--port must be in 0...65535, got \(port)") }
        if let histogramEvery, histogramEvery < 1 {
            throw RunError(op: op, "--histogram-every must be at least 1 step, got \(histogramEvery)")
        }
    }

    /// The observers of a run: statistics at the asked interval and, with `dashboard`, a server
    /// over the run's parent folder with this run's controls, started once the folder is known.
    /// The server needs no keeping: it serves until the process ends (stopping it first would only
    /// cut the page off sooner).
    func observers(dashboard: Bool) -> RunObservers {
        var observers = RunObservers()
        observers.histogramEvery = histogramEvery ?? (dashboard ? 100 : nil)
        guard dashboard else { return observers }
        let port = self.port ?? 6006, host = self.host ?? "127.0.0.1"
        observers.onStart = { target in
            let parent = RunTransaction.split(target.path).parent
            // The id the dashboard lists the staged run by: `name (new)` beside the older run
            // that --overwrite replaces at the end (the controls attached to that old run before).
            let name = (target.path as NSString).lastPathComponent
            let live = LiveRun(id: RunIndex.stagedID(name, besideOlder: FileManager.default.fileExists(atPath: target.path)))
            let server = try DashboardServer.start(root: parent, host: host, port: port, live: [live],
                                                   output: { writeToStandardOutput("dashboard: " + $0 + "\n") })
            writeToStandardOutput("dashboard: \(server.url)\n")
            return [live.callback]
        }
        return observers
    }
}

struct Dashboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a live dashboard of every run folder under a folder.",
        discussion: """
        Curves per batch and per epoch (running runs update live), per-layer statistics when \
        the runs recorded them (--histogram-every, on by default with train --dashboard), \
        pictures of finished runs, and the playground. Serves until interrupted (Ctrl-C).

        Examples:
          myelin dashboard runs
          myelin dashboard runs --port 0
          myelin dashboard runs --host 0.0.0.0      # prints a URL with an access token
        """)

    @Argument(help: "The folder whose run folders to serve.") var folder = "runs"
    @Option(parsing: .unconditional, help: "The port (the next free one when it is taken; 0: any free port).") var port = 6006
    @Option(help: "The address to listen on; any other than loopback needs the access token printed at start.") var host = "127.0.0.1"

    func run() throws {
        runOrFail {
            let server = try DashboardServer.start(root: folder, host: host, port: port,
                                                   output: { writeToStandardOutput("dashboard: " + $0 + "\n") })
            writeToStandardOutput("dashboard: serving \(folder) at \(server.url)\n")
            server.wait()
        }
    }
}

struct Playground: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the playground: train a small network on 2-D data in the browser and watch it bend its boundary.",
        discussion: """
        TensorFlow Playground's choices (data set, noise, training share, features, layers \
        and neurons, activation, learning rate, L1/L2, batch size) trained by Myelin's \
        trainer in this process; the page draws the decision boundary and every neuron's \
        output as it trains. The dashboard of FOLDER's runs is served beside it. Serves \
        until interrupted (Ctrl-C).

        Examples:
          myelin playground
          myelin playground --port 0
        """)

    @Argument(help: "A folder of run folders to serve beside the playground (default: runs, when it exists).") var folder: String?
    @Option(parsing: .unconditional, help: "The port (the next free one when it is taken; 0: any free port).") var port = 6006
    @Option(help: "The address to listen on; any other than loopback needs the access token printed at start.") var host = "127.0.0.1"

    func run() throws {
        runOrFail {
            var root = folder ?? "runs"
            var isDir: ObjCBool = false
            if folder == nil, !(FileManager.default.fileExists(atPath: root, isDirectory: &isDir) && isDir.boolValue) {
                root = NSTemporaryDirectory()
            }
            let server = try DashboardServer.start(root: root, host: host, port: port,
                                                   output: { writeToStandardOutput("playground: " + $0 + "\n") })
            let base = server.url.split(separator: "?", maxSplits: 1)
            let url = base[0] + "playground" + (base.count > 1 ? "?" + base[1] : "")
            writeToStandardOutput("playground: \(url)\n")
            server.wait()
        }
    }
}
