import Foundation
import MyelinCore
import MyelinRun
import MyelinTrain

/// The dashboard's HTTP interface: the pages, the runs' logs as JSON, a stream of changes
/// (server-sent events), and the controls of live runs.
///
/// | request | answer |
/// |---|---|
/// | `GET /`, `/playground`, `/assets/NAME` | the pages, embedded in the binary |
/// | `GET /api/runs` | every run: id, state, epochs, last metrics |
/// | `GET /api/run?id=ID` | one run: its description, per-epoch history, results, pictures |
/// | `GET /api/steps?id=ID&from=N&generation=G` | per-batch loss and learning rate from step index N |
/// | `GET /api/insights?id=ID&from=N&generation=G` | per-layer statistics from line N |
/// | `GET /api/file?id=ID&name=NAME` | a picture or the samples of a run (a fixed list of names) |
/// | `GET /api/events` | server-sent events: what changed, at most every `pollInterval` |
/// | `POST /api/control?id=ID` | `{"action":"pause"|"resume"|"step"|"stop"}` or `{"action":"lr","value":X}` |
/// | `GET /api/inspect?id=ID&layer=NAME` | a live run's weights, gradients and last batch (`Inspection`) |
struct DashboardRoutes: Sendable {
    let index: RunIndex
    let store: RunStore
    let live: [String: LiveRun]
    let playground: PlaygroundHost
    /// Seconds between two looks at the logs for the event stream.
    let pollInterval: Double

    /// Files of a run folder the page may show, and their content types.
    static let files: [String: String] = [
        "curves.svg": "image/svg+xml", "confusion.svg": "image/svg+xml", "boundary.svg": "image/svg+xml",
        "filters.svg": "image/svg+xml", "input.svg": "image/svg+xml", "clusters.svg": "image/svg+xml",
        "samples.txt": "text/plain; charset=utf-8", "predictions.json": "application/json",
    ]

    /// The answer to one request (on the connection's thread).
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let method = request.method == "HEAD" ? "GET" : request.method
        switch (method, request.path) {
        case ("GET", "/"): return Self.asset(DashboardAssets.index, type: "text/html; charset=utf-8")
        case ("GET", "/playground"): return Self.asset(DashboardAssets.playground, type: "text/html; charset=utf-8")
        case ("GET", let path) where path.hasPrefix("/assets/"):
            let name = String(path.dropFirst("/assets/".count))
            guard let (bytes, type) = DashboardAssets.named(name) else { return Self.error(404, "[dashboard] no asset \(name)") }
            return Self.asset(bytes, type: type)
        case ("GET", "/api/runs"): return Self.json(runList())
        case ("GET", "/api/run"):
            guard let run = lookup(request) else { return unknownRun(request) }
            return Self.json(runDetail(run))
        case ("GET", "/api/steps"):
            guard let run = lookup(request) else { return unknownRun(request) }
            guard let from = Self.stepCount(request, "from") else { return Self.badStepCount(request, "from") }
            return Self.json(store.steps(run, from: from, generation: request.query("generation", as: Int.self)))
        case ("GET", "/api/insights"):
            guard let run = lookup(request) else { return unknownRun(request) }
            guard let from = Self.stepCount(request, "from") else { return Self.badStepCount(request, "from") }
            return Self.json(store.insights(run, from: from, generation: request.query("generation", as: Int.self)))
        case ("GET", "/api/file"):
            guard let run = lookup(request) else { return unknownRun(request) }
            let name = request.query("name") ?? ""
            guard let type = Self.files[name] ?? Self.featureMapType(name) else {
                return Self.error(404, "[dashboard] \(name) is not a file the dashboard shows")
            }
            guard let data = FileManager.default.contents(atPath: RunFolder(run.path).file(name)) else {
                return Self.error(404, "[dashboard] run \(run.id) has no \(name)")
            }
            return Self.asset(Array(data), type: type)
        case ("GET", "/api/events"): return events()
        case ("POST", "/api/control"): return control(request)
        case ("GET", "/api/inspect"):
            guard let run = request.query("id").flatMap({ live[$0] }) else {
                return Self.error(404, "[inspect] no live run \(request.query("id") ?? "")")
            }
            return Self.json(run.inspectWaiting(layer: request.query("layer")))
        case (_, let path) where path.hasPrefix("/api/playground/"):
            return playground.handle(request)
        case (_, "/"), (_, "/playground"), (_, "/api/runs"), (_, "/api/run"), (_, "/api/steps"), (_, "/api/insights"),
             (_, "/api/file"), (_, "/api/events"), (_, "/api/control"), (_, "/api/inspect"):
            return Self.error(405, "[dashboard] \(request.method) is not allowed on \(request.path)")
        default:
            return Self.error(404, "[dashboard] nothing at \(request.path)")
        }
    }

    /// A query's count of steps: 0 when absent, nil when it is not a whole number from 0 (a
    /// number too large for Int read as absent before, and every step was sent).
    static func stepCount(_ request: HTTPRequest, _ name: String) -> Int? {
        guard let text = request.query(name) else { return 0 }
        guard let n = Int(text), n >= 0 else { return nil }
        return n
    }

    static func badStepCount(_ request: HTTPRequest, _ name: String) -> HTTPResponse {
        error(400, "[dashboard] \(name) must be a whole number of steps from 0, got '\(request.query(name) ?? "")'")
    }

    private func control(_ request: HTTPRequest) -> HTTPResponse {
        guard let run = request.query("id").flatMap({ live[$0] }) else {
            return Self.error(404, "[control] no live run \(request.query("id") ?? "")")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              let action = object["action"] as? String else {
            return Self.error(400, #"[control] expected {"action": "pause"|"resume"|"step"|"stop"|"lr", "value": X}"#)
        }
        switch action {
        case "pause": run.pause()
        case "resume": run.resume()
        case "step":
            guard run.step() else { return Self.error(409, "[control] step needs a paused run") }
        case "stop": run.stop()
        case "lr":
            guard let value = object["value"] as? Double else { return Self.error(400, "[control] lr needs a number \"value\"") }
            do { try run.setLearningRate(value) } catch { return Self.error(409, "\(error)") }
        default: return Self.error(400, "[control] unknown action \(action)")
        }
        return Self.json(Self.statusJSON(run))
    }

    // MARK: Runs

    private func lookup(_ request: HTTPRequest) -> RunIndex.Entry? {
        request.query("id").flatMap { index.run($0) }
    }

    private func unknownRun(_ request: HTTPRequest) -> HTTPResponse {
        Self.error(404, "[dashboard] no run \(request.query("id") ?? "(no id)") under the served folder")
    }

    func runList() -> String {
        let items = index.runs().map { run -> String in
            let history = CSVLogger.read(path: RunFolder(run.path).metricsLog)
            let last = history.last.sorted { $0.key < $1.key }
                .map { JSONText.quote($0.key) + ":" + JSONText.number($0.value) }.joined(separator: ",")
            var fields = ["\"id\":" + JSONText.quote(run.id), "\"running\":\(run.running)",
                          "\"modified\":" + JSONText.number(run.modified), "\"epochs\":\(history.count)", "\"last\":{\(last)}"]
            if let liveRun = live[run.id] { fields.append("\"live\":" + Self.statusJSON(liveRun)) }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"root\":" + JSONText.quote(index.root) + ",\"runs\":[" + items.joined(separator: ",") + "]}"
    }

    func runDetail(_ run: RunIndex.Entry) -> String {
        let folder = RunFolder(run.path)
        let history = CSVLogger.read(path: folder.metricsLog)
        let metrics = history.keys.map { key in
            JSONText.quote(key) + ":[" + (history[key] ?? []).map { JSONText.number($0) }.joined(separator: ",") + "]"
        }.joined(separator: ",")
        func raw(_ path: String) -> String {
            guard let data = FileManager.default.contents(atPath: path), data.count < 1 << 20,
                  (try? JSONSerialization.jsonObject(with: data)) != nil else { return "null" }
            return String(decoding: data, as: UTF8.self)
        }
        let description = [folder.description, folder.languageModel, folder.sequenceClassifier]
            .first { FileManager.default.fileExists(atPath: $0) }.map(raw) ?? "null"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []).sorted()
            .filter { Self.files[$0] != nil || Self.featureMapType($0) != nil }
        var fields = ["\"id\":" + JSONText.quote(run.id), "\"running\":\(run.running)",
                      "\"history\":{\"epochs\":[\(history.epochs.map(String.init).joined(separator: ","))],\"metrics\":{\(metrics)}}",
                      "\"description\":" + description, "\"results\":" + raw(folder.results),
                      "\"files\":[" + names.map(JSONText.quote).joined(separator: ",") + "]"]
        if let liveRun = live[run.id] { fields.append("\"live\":" + Self.statusJSON(liveRun)) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func featureMapType(_ name: String) -> String? {
        name.hasPrefix("feature-maps-") && name.hasSuffix(".svg") && !name.contains("/") ? "image/svg+xml" : nil
    }

    static func statusJSON(_ run: LiveRun) -> String {
        let s = run.current
        return "{\"state\":" + JSONText.quote(s.state.rawValue) + ",\"step\":\(s.step),\"epoch\":\(s.epoch),\"batch\":\(s.batch)"
            + ",\"lr\":" + (s.lr.map { JSONText.number($0) } ?? "null")
            + ",\"lrLocked\":" + (s.lrLocked.map(JSONText.quote) ?? "null") + "}"
    }

    // MARK: The event stream

    /// Server-sent events: a `data:` line of JSON whenever the run list, a running run's step or
    /// insight count, or a live run's state changed since the last event to this page; a comment
    /// every 15 s otherwise. The stream pulls at its own pace: a slow page gets fewer, newer
    /// events, and training never waits for it.
    private func events() -> HTTPResponse {
        let index = self.index, store = self.store, live = self.live, interval = pollInterval
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
                            body: .stream { stream in
            var last = ""
            var quiet = 0.0
            try stream.write("retry: 1000\n\n")
            while stream.isOpen {
                let runs = index.runs()
                let watched = runs.filter { $0.running || live[$0.id] != nil }
                let counts = store.counts(watched)
                let items = watched.map { run -> String in
                    let c = counts[run.id] ?? (0, 0)
                    let state = live[run.id].map { Self.statusJSON($0) } ?? "null"
                    return "{\"id\":" + JSONText.quote(run.id) + ",\"steps\":\(c.steps),\"insights\":\(c.insights),\"live\":\(state)}"
                }
                let listed = runs.map(\.id).joined(separator: "\n")
                let event = "{\"runs\":\(runs.count),\"list\":\(listed.hashValue),\"watched\":[" + items.joined(separator: ",") + "]}"
                if event != last {
                    try stream.write("data: " + event + "\n\n")
                    last = event
                    quiet = 0
                } else if quiet >= 15 {
                    try stream.write(": alive\n\n")
                    quiet = 0
                }
                Thread.sleep(forTimeInterval: interval)
                quiet += interval
            }
        })
    }

    // MARK: Responses

    static func json(_ text: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                     body: .bytes(Array(text.utf8)))
    }

    static func asset(_ bytes: [UInt8], type: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", type)], body: .bytes(bytes))
    }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")],
                     body: .bytes(Array(("{\"error\":" + JSONText.quote(message) + "}").utf8)))
    }
}
