import Foundation
import Hummingbird
import MyelinCore
import MyelinRun
import MyelinTrain
import ServiceLifecycle

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

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.asset(DashboardAssets.index, type: "text/html; charset=utf-8") }
        router.get("/playground") { _, _ in Self.asset(DashboardAssets.playground, type: "text/html; charset=utf-8") }
        router.get("/assets/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let (bytes, type) = DashboardAssets.named(name) else { return Self.error(.notFound, "no asset \(name)") }
            return Self.asset(bytes, type: type)
        }
        router.get("/api/runs") { _, _ in Self.json(runList()) }
        router.get("/api/run") { request, _ in
            guard let run = lookup(request) else { return unknownRun(request) }
            return Self.json(runDetail(run))
        }
        router.get("/api/steps") { request, _ in
            guard let run = lookup(request) else { return unknownRun(request) }
            let q = request.uri.queryParameters
            return Self.json(await store.steps(run, from: q.get("from", as: Int.self) ?? 0, generation: q.get("generation", as: Int.self)))
        }
        router.get("/api/insights") { request, _ in
            guard let run = lookup(request) else { return unknownRun(request) }
            let q = request.uri.queryParameters
            return Self.json(await store.insights(run, from: q.get("from", as: Int.self) ?? 0, generation: q.get("generation", as: Int.self)))
        }
        router.get("/api/file") { request, _ in
            guard let run = lookup(request) else { return unknownRun(request) }
            let name = request.uri.queryParameters.get("name") ?? ""
            guard let type = Self.files[name] ?? Self.featureMapType(name) else {
                return Self.error(.notFound, "[dashboard] \(name) is not a file the dashboard shows")
            }
            guard let data = FileManager.default.contents(atPath: RunFolder(run.path).file(name)) else {
                return Self.error(.notFound, "[dashboard] run \(run.id) has no \(name)")
            }
            return Self.asset(Array(data), type: type)
        }
        router.get("/api/events") { _, _ in events() }
        router.post("/api/control") { request, _ in
            var request = request
            guard let run = request.uri.queryParameters.get("id").flatMap({ live[$0] }) else {
                return Self.error(.notFound, "[control] no live run \(request.uri.queryParameters.get("id") ?? "")")
            }
            let body = try await request.collectBody(upTo: 4096)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let action = object["action"] as? String else {
                return Self.error(.badRequest, #"[control] expected {"action": "pause"|"resume"|"step"|"stop"|"lr", "value": X}"#)
            }
            switch action {
            case "pause": run.pause()
            case "resume": run.resume()
            case "step":
                guard run.step() else { return Self.error(.conflict, "[control] step needs a paused run") }
            case "stop": run.stop()
            case "lr":
                guard let value = object["value"] as? Double else { return Self.error(.badRequest, "[control] lr needs a number \"value\"") }
                do { try run.setLearningRate(value) } catch { return Self.error(.conflict, "\(error)") }
            default: return Self.error(.badRequest, "[control] unknown action \(action)")
            }
            return Self.json(Self.statusJSON(run))
        }
        playground.register(on: router)
        router.get("/api/inspect") { request, _ in
            guard let run = request.uri.queryParameters.get("id").flatMap({ live[$0] }) else {
                return Self.error(.notFound, "[inspect] no live run \(request.uri.queryParameters.get("id") ?? "")")
            }
            return Self.json(await run.inspect(layer: request.uri.queryParameters.get("layer")))
        }
    }

    // MARK: Runs

    private func lookup(_ request: Request) -> RunIndex.Entry? {
        request.uri.queryParameters.get("id").flatMap { index.run($0) }
    }

    private func unknownRun(_ request: Request) -> Response {
        Self.error(.notFound, "[dashboard] no run \(request.uri.queryParameters.get("id") ?? "(no id)") under the served folder")
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
    private func events() -> Response {
        let index = self.index, store = self.store, live = self.live, interval = pollInterval
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var last = ""
            var quiet = 0.0
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let runs = index.runs()
                let watched = runs.filter { $0.running || live[$0.id] != nil }
                let counts = await store.counts(watched)
                let items = watched.map { run -> String in
                    let c = counts[run.id] ?? (0, 0)
                    let state = live[run.id].map { Self.statusJSON($0) } ?? "null"
                    return "{\"id\":" + JSONText.quote(run.id) + ",\"steps\":\(c.steps),\"insights\":\(c.insights),\"live\":\(state)}"
                }
                let listed = runs.map(\.id).joined(separator: "\n")
                let event = "{\"runs\":\(runs.count),\"list\":\(listed.hashValue),\"watched\":[" + items.joined(separator: ",") + "]}"
                if event != last {
                    try await writer.write(ByteBuffer(string: "data: " + event + "\n\n"))
                    last = event
                    quiet = 0
                } else if quiet >= 15 {
                    try await writer.write(ByteBuffer(string: ": alive\n\n"))
                    quiet = 0
                }
                try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                quiet += interval
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Responses

    static func json(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":" + JSONText.quote(message) + "}")))
    }
}
