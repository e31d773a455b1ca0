import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinDashboard
@testable import MyelinWebDriver
import MyelinCore
import MyelinNN
import MyelinRun
import MyelinTrain

/// A small two-class CSV (400 rows): enough batches for the controls to act between them.
func makeCSV() throws -> String {
    let path = temporaryTestPath("live", suffix: ".csv")
    var text = "x,y,label\n"
    for i in 0..<400 {
        let x = Double(i % 20) / 10 - 1, y = Double(i / 20) / 10 - 1
        text += "\(x),\(y),\(x * y > 0 ? "a" : "b")\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Waits until `condition` holds (60 s at most), sleeping between looks so that Swift's
/// concurrency threads stay free for the servers of other tests.
func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = Date(timeIntervalSinceNow: 60)
    while !condition() {
        guard Date() < deadline else { throw DashboardError(op: "test", "timed out waiting for \(what)") }
        try await Task.sleep(nanoseconds: 2_000_000)
    }
}

/// Waits for `done` without holding a concurrency thread.
func waitFor(_ done: DispatchSemaphore) async throws {
    while done.wait(timeout: .now()) == .timedOut { try await Task.sleep(nanoseconds: 5_000_000) }
}

@Suite("Live run controls", .serialized)
struct LiveRunTests {
    /// Trains the CSV in a background thread with `live`'s callback; returns when training ends.
    func train(_ live: LiveRun, out: String, epochs: Int, lr: Double = 0.01, cosine: Bool = false,
               histogramEvery: Int? = nil) throws -> DispatchSemaphore {
        let csv = try makeCSV()
        var request = TrainRequest(source: .csv(path: csv, label: "label", task: .classification), out: out)
        request.hidden = [8]
        request.settings.epochs = epochs
        request.settings.batchSize = 8
        request.settings.learningRate = lr
        request.settings.cosine = cosine
        request.settings.validationSplit = 0
        request.given = Set(TrainPlan.Setting.allCases)
        request.verbosity = .silent
        request.drawFilters = false
        request.observers.histogramEvery = histogramEvery
        request.observers.onStart = { _ in [live.callback] }
        let box = RequestBox(request: request)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do { _ = try TrainJob.train(box.request, output: { _ in }) } catch { Issue.record("training failed: \(error)") }
            done.signal()
        }
        thread.start()
        return done
    }

    @Test func pauseHoldsStepAdvancesByExactlyOneAndResumeGoesOn() async throws {
        let out = temporaryTestPath("live")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let live = LiveRun(id: "run")
        live.pause()  // before the first batch ends: training holds at step 1
        let done = try train(live, out: out, epochs: 3)
        try await waitUntil("the pause") { live.current.state == .paused && live.current.step >= 1 }
        let held = live.current.step
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(live.current.step == held)
        #expect(live.step())
        try await waitUntil("one step") { live.current.step == held + 1 }
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(live.current.step == held + 1)
        #expect(live.current.state == .paused)
        // While paused, the batch log reaches the step it holds at (it wrote only after a later step).
        let parent = (out as NSString).deletingLastPathComponent, name = (out as NSString).lastPathComponent
        let staging = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix("." + name + ".tmp-") }
        let log = ([out] + staging.map { parent + "/" + $0 }).map { $0 + "/batches.csv" }.first { FileManager.default.fileExists(atPath: $0) }
        let lastStep = try log.map { try String(contentsOfFile: $0, encoding: .utf8) }?.split(separator: "\n").last?.split(separator: ",").first
        #expect(lastStep.flatMap { Int($0) } == held + 1, "\(String(describing: log)): last step \(String(describing: lastStep))")
        live.resume()
        try await waitUntil("the end") { live.current.state == .finished }
        try await waitFor(done)
        #expect(live.current.step == 3 * 40)  // 320 training rows / 8
        #expect(!live.step())
    }

    @Test func learningRateChangeIsRecordedAndResumedAndStopSavesAResumableRun() async throws {
        let out = temporaryTestPath("live")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let live = LiveRun(id: "run")
        live.pause()
        let done = try train(live, out: out, epochs: 50, histogramEvery: 10)
        try await waitUntil("the pause") { live.current.state == .paused && live.current.step >= 1 }
        #expect(throws: DashboardError.self) { try live.setLearningRate(-1) }
        try live.setLearningRate(0.0025)
        #expect(live.step())
        try await waitUntil("the new rate") { live.current.lr == 0.0025 }
        // The inspection of a paused run: real weights, from the trainer's thread.
        let json = await live.inspect(layer: "0 Linear")
        let inspection = try JSONDecoder().decode(Inspection.self, from: Data(json.utf8))
        #expect(inspection.layer == "0 Linear")
        #expect(inspection.layers.map(\.name) == ["0 Linear", "1 ReLU", "2 Linear"])
        let weight = try #require(inspection.parameters.first { $0.name == "0.weight" })
        #expect(weight.shape == [8, 2])
        live.resume()
        try await waitUntil("epoch 3") { live.current.epoch >= 2 }
        live.stop()
        try await waitUntil("the end") { live.current.state == .finished }
        try await waitFor(done)
        // Stopped: a published, resumable run, whose batch log and checkpoint carry the new rate.
        let steps = try BatchLog.read(path: RunFolder(out).batchLog)
        #expect(steps.contains { $0.lr == 0.0025 })
        #expect(steps.last!.lr == 0.0025)
        #expect(steps.first!.lr == 0.01)
        let checkpoint = try Checkpoint.load(from: RunFolder(out).checkpoint)
        #expect(checkpoint.step == steps.last!.step)
        let model = try RunModel(try RunFolder(out).readDescription())
        try model.optimizer.load(checkpoint.optimizerState)
        #expect(model.optimizer.lr == 0.0025)
        let insights = try InsightsLog.read(path: RunFolder(out).insights)
        #expect(insights.first?.step == 1)
        #expect(insights.dropFirst().allSatisfy { $0.step % 10 == 0 })
        // Resume goes on from the stop.
        _ = try TrainJob.resume(out, epochs: checkpoint.epoch + 1, dataDir: nil, verbosity: .silent, output: { _ in })
        let after = try BatchLog.read(path: RunFolder(out).batchLog)
        #expect(after.count == steps.count + 40)
    }

    @Test func aSchedulerLocksTheLearningRate() async throws {
        let out = temporaryTestPath("live")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let live = LiveRun(id: "run")
        live.pause()
        let done = try train(live, out: out, epochs: 2, cosine: true)
        try await waitUntil("the pause") { live.current.state == .paused && live.current.step >= 1 }
        #expect(live.current.lrLocked != nil)
        #expect(throws: DashboardError.self) { try live.setLearningRate(0.1) }
        live.resume()
        try await waitUntil("the end") { live.current.state == .finished }
        try await waitFor(done)
    }

    @Test func clientsThatNeverReadDoNotHoldTrainingUp() async throws {
        let out = temporaryTestPath("live")
        let root = (out as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: out) }
        let live = LiveRun(id: (out as NSString).lastPathComponent)
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live], pollInterval: 0.01)
        defer { server.stop() }
        // Five event streams whose readers never read: their socket buffers fill up.
        var sockets: [Int32] = []
        for _ in 0..<5 {
            let fd = try connectLoopback(port: server.port, receiveBuffer: 1024)
            sockets.append(fd)
            try LoopbackHTTP.sendAll(fd, Data("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8), command: "events")
        }
        defer { for fd in sockets { close(fd) } }
        let started = Date()
        let done = try train(live, out: out, epochs: 5)
        try await waitUntil("the end") { live.current.state == .finished }
        try await waitFor(done)
        #expect(live.current.step == 5 * 40)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}

/// Hands a request to the training thread, which alone uses it from then on.
final class RequestBox: @unchecked Sendable {
    // @unchecked: written once before the thread starts, then read by that thread only.
    let request: TrainRequest
    init(request: TrainRequest) { self.request = request }
}
