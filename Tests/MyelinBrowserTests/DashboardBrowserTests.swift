import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import MyelinCore
import MyelinDashboard
import MyelinNN
import MyelinRun
import MyelinTrain
import MyelinWebDriver

/// A training of a small two-class CSV into `root/live`, paused before its first batch ends, with
/// `live`'s controls and statistics every 5 steps; `done` is signalled when the command returns.
private func startTraining(root: String, live: LiveRun, epochs: Int = 200) throws -> DispatchSemaphore {
    let csv = root + "/points.csv"
    var text = "x,y,label\n"
    for i in 0..<400 {
        let x = Double(i % 20) / 10 - 1, y = Double(i / 20) / 10 - 1
        text += "\(x),\(y),\(x * y > 0 ? "a" : "b")\n"
    }
    try text.write(toFile: csv, atomically: true, encoding: .utf8)
    var request = TrainRequest(source: .csv(path: csv, label: "label", task: .classification), out: root + "/live")
    request.hidden = [8]
    request.settings.epochs = epochs
    request.settings.batchSize = 8
    request.settings.learningRate = 0.01
    request.settings.validationSplit = 0
    request.given = Set(TrainPlan.Setting.allCases)
    request.verbosity = .silent
    request.drawFilters = false
    request.observers.histogramEvery = 5
    request.observers.onStart = { _ in [live.callback] }
    live.pause()
    let box = Box(request)
    let done = DispatchSemaphore(value: 0)
    Thread {
        do { _ = try TrainJob.train(box.value, output: { _ in }) } catch { Issue.record("training failed: \(error)") }
        done.signal()
    }.start()
    return done
}

/// Hands a value to another thread, which alone uses it from then on.
private final class Box<T>: @unchecked Sendable {
    // @unchecked: written once before the thread starts, then read by that thread only.
    let value: T
    init(_ value: T) { self.value = value }
}

private func number(_ browser: WebDriverSession, _ css: String) async throws -> Int {
    Int(try await browser.findElement(css).text()) ?? -1
}

@Suite(.serialized, .enabled(if: BrowserAvailability.isAvailable, "needs chromium and chromedriver (scripts/install-deps.sh, or MYELIN_CHROMIUM/MYELIN_CHROMEDRIVER)"))
struct DashboardBrowserTests {
    @Test func liveCurvesPauseStepLearningRateInspectAndStop() async throws {
        let root = NSTemporaryDirectory() + "myelin-browser-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let live = LiveRun(id: "live")
        // Far more epochs than the test lets run (it stops the training itself): on a loaded
        // machine, where the browser is slow, 200 epochs ended before the pause was clicked.
        let done = try startTraining(root: root, live: live, epochs: 5_000)
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live], pollInterval: 0.1)
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url)
            // Paused at the start; resume and watch points arrive without a reload.
            try await browser.waitUntil("the live bar") { try await browser.findElement("#status-state").text() == "paused" }
            try await browser.findElement("#resume").click()
            let pointsScript = "const s = state.steps.get('live'); return s ? s.step.length : 0;"
            let first = try await browser.waitFor("some points") { () async throws -> Int? in
                let n = try await browser.execute(pointsScript, as: Int.self)
                return n > 20 ? n : nil
            }
            try await browser.waitUntil("more points without a reload") { try await browser.execute(pointsScript, as: Int.self) > first + 20 }
            #expect(try await browser.currentURL() == server.url)
            _ = try await browser.saveScreenshot(named: "dashboard-live-curves")

            // Inside the network: the statistics recorded every 5 steps, drawn per parameter and layer.
            try await browser.findElement("button[data-tab=inside]").click()
            _ = try await browser.waitForElement("#inside-gradnorm")
            #expect(try await browser.findElements("#inside .card").count == 4 + 2 * 4)  // 4 charts, then 2 per parameter
            #expect(try await browser.execute("return state.insights.get('live').entries.length > 2;", as: Bool.self))
            _ = try await browser.saveScreenshot(named: "dashboard-live-inside")
            try await browser.findElement("button[data-tab=curves]").click()

            // Pause: the step counter stops.
            try await browser.findElement("#pause").click()
            try await browser.waitUntil("paused") { try await browser.findElement("#status-state").text() == "paused" }
            try await Task.sleep(for: .milliseconds(400))
            let held = try await number(browser, "#status-step")
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await number(browser, "#status-step") == held)
            #expect(live.current.step == held)

            // Step: exactly one more.
            try await browser.findElement("#step").click()
            try await browser.waitUntil("one step") { try await number(browser, "#status-step") == held + 1 }
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await number(browser, "#status-step") == held + 1)

            // A new learning rate, then one step with it: in the page's per-batch history.
            let field = try await browser.findElement("#lr-input")
            try await field.clear()
            try await field.sendKeys("0.0025")
            try await browser.findElement("#lr-set").click()
            try await browser.waitUntil("the new rate shown") { try await browser.findElement("#status-lr").text() == "0.002500" }
            try await browser.findElement("#step").click()
            try await browser.waitUntil("the rate in the history") {
                try await browser.execute("const s = state.steps.get('live'); return s ? s.lr[s.lr.length - 1] : 0;", as: Double.self) == 0.0025
            }

            // Inspect the first layer while paused: the numbers the page shows are the weights.
            try await browser.findElement("button[data-tab=inspect]").click()
            let cell = try await browser.waitForElement("#inspect-values-0\\.weight td")
            _ = cell
            let shown = try await browser.execute(
                "return [...document.querySelectorAll('#inspect-values-0\\\\.weight td')].map(td => +td.textContent);", as: [Double].self)
            #expect(shown.count == 16)  // [8, 2]: all 8 rows of 2
            _ = try await browser.saveScreenshot(named: "dashboard-inspect")

            // Stop and save; the saved weights are the ones inspected.
            try await browser.findElement("#stop").click()
            while done.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(5)) }
            let saved = try Safetensors.load(RunFolder(root + "/live").weights).tensors
            let weight = try #require(saved["0.weight"]).doubles
            #expect(weight.count == 16)
            for (a, b) in zip(shown, weight) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "shown \(a), saved \(b)") }
            let steps = try BatchLog.read(path: RunFolder(root + "/live").batchLog)
            #expect(steps.last!.lr == 0.0025)
            #expect(try await browser.consoleErrors().isEmpty)
        }
    }

    @Test func playgroundBoundaryChangesAsItTrains() async throws {
        let root = NSTemporaryDirectory() + "myelin-browser-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await DashboardServer.launch(root: root, port: 0)
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url + "playground")
            try await browser.waitUntil("the first picture") { try await browser.execute("return pg.picture !== null;", as: Bool.self) }
            #expect(try await browser.findElement("#epoch").text() == "0")
            let before = try await browser.execute("return document.getElementById('boundary').toDataURL();", as: String.self)
            try await browser.findElement("#play").click()
            try await browser.waitUntil("20 epochs", timeout: .seconds(60)) { try await number(browser, "#epoch") >= 20 }
            let after = try await browser.execute("return document.getElementById('boundary').toDataURL();", as: String.self)
            #expect(before != after)
            let loss = try await browser.execute("return pg.picture.trainLoss;", as: Double.self)
            let start = try await browser.execute("return pg.picture.history[0][0];", as: Double.self)
            #expect(loss < start)
            // Every neuron is drawn: inputs x, y and hidden layers of 4 and 2.
            #expect(try await browser.findElements("canvas.neuron").count == 2 + 4 + 2)
            _ = try await browser.saveScreenshot(named: "playground-xor")
            #expect(try await browser.consoleErrors().isEmpty)

            // A session the server no longer has (it keeps four; newer tabs end the most idle): the
            // next step starts it again and says so (it did nothing, with an uncaught error in the console).
            try await browser.findElement("#play").click()
            let old = "p0-gone"
            _ = try await browser.execute("pg.session = '\(old)'; pg.polling += 1;")
            try await browser.findElement("#step").click()
            try await browser.waitUntil("a new session") { try await browser.execute("return pg.session;", as: String.self) != old }
            #expect(try await browser.findElement("#message").text().contains("ended by playgrounds opened since"))
            try await browser.waitUntil("the stepped picture") { try await number(browser, "#epoch") >= 1 }
            // Only the browser's own line for the refused request: no uncaught error.
            let errors = try await browser.consoleErrors().map(\.message)
            #expect(errors.allSatisfy { $0.contains("404") }, "\(errors)")
        }
    }

    /// What a run folder holds is shown as text: a class name in predictions.json that is markup
    /// ran script in the page (and so could drive live runs). Without a live run the control bar
    /// is hidden (its CSS display overrode `hidden`).
    @Test func runFilesNeverRunScriptAndTheLiveBarHidesWithoutALiveRun() async throws {
        let root = NSTemporaryDirectory() + "myelin-browser-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/run"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (BatchLog.header + "\n1,0,0,0.5,0.01\n2,0,1,nan,0.01\n").write(toFile: dir + "/batches.csv", atomically: false, encoding: .utf8)
        try "epoch,loss,accuracy\n0,0.5,0.75\n1,nan,0.5\n".write(toFile: dir + "/metrics.csv", atomically: false, encoding: .utf8)
        let evil = "<img src=x onerror=\"document.title='XSS-RAN'\">"
        let predictions: [String: Any] = ["shape": [1, 2, 2], "images": [[0.0, 1.0, 0.5, 0.25]], "predicted": [0], "target": [1],
                                          "classNames": [evil, "b"]]
        try JSONSerialization.data(withJSONObject: predictions).write(to: URL(fileURLWithPath: dir + "/predictions.json"))
        let server = try await DashboardServer.launch(root: root, port: 0)
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url)
            _ = try await browser.waitForElement("button.tab[data-tab=pictures]")
            #expect(try await browser.execute("return getComputedStyle(document.getElementById('live')).display;", as: String.self) == "none")
            _ = try await browser.execute("document.querySelector('button.tab[data-tab=pictures]').click();")
            let caption = try await browser.waitFor("the test image's caption") { () async throws -> String? in
                let text = try await browser.execute("const c = document.querySelector('#pictures figcaption'); return c ? c.textContent : null;",
                                                     as: String?.self)
                return text ?? nil
            }
            #expect(caption.hasPrefix(evil))
            #expect(try await browser.title() != "XSS-RAN")
            #expect(try await browser.execute("return document.querySelectorAll('#pictures img[src=\"x\"]').length;", as: Int.self) == 0)
        }
    }

    @Test func twoHundredFiftyRunsShowTheirFirstCurvesWithinTwoSeconds() async throws {
        let root = NSTemporaryDirectory() + "myelin-browser-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var steps = BatchLog.header + "\n"
        for s in 1...1000 { steps += "\(s),\((s - 1) / 100),\((s - 1) % 100),\(2.0 / Double(s).squareRoot()),0.01\n" }
        var metrics = "epoch,loss,accuracy,val_loss,val_accuracy,lr,time\n"
        for e in 0..<10 { metrics += "\(e),\(1.0 / Double(e + 1)),\(0.9 + Double(e) / 100),\(1.1 / Double(e + 1)),0.9,0.01,1.5\n" }
        for i in 0..<250 {
            let dir = root + "/run-\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try steps.write(toFile: dir + "/batches.csv", atomically: false, encoding: .utf8)
            try metrics.write(toFile: dir + "/metrics.csv", atomically: false, encoding: .utf8)
        }
        let server = try await DashboardServer.launch(root: root, port: 0)
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url)
            let ms = try await browser.waitFor("the first curves") { () async throws -> Double? in
                let t = try await browser.execute("return window.firstCurvesAt === undefined ? null : window.firstCurvesAt;", as: Double?.self)
                return t ?? nil
            }
            print("dashboard with 250 runs: first curves \(Int(ms)) ms after navigation started")
            #expect(ms <= 2000)
            #expect(try await browser.findElement("#run-count").text() == "250 runs")
            #expect(try await browser.consoleErrors().isEmpty)
        }
    }
}
