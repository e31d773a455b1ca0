import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// What the playground page asks for: TensorFlow Playground's choices on Myelin's trainer.
public struct PlaygroundConfig: Codable, Sendable, Equatable {
    /// xor, circles, gaussians, spirals or moons (`GeneratedSet`).
    public var dataset = "xor"
    public var noise = 0.1
    /// Share of the points used for training, the rest for testing.
    public var trainShare = 0.5
    public var count = 500
    public var seed: UInt64 = 0
    /// Input features, from x, y, x2, y2, xy, sinx, siny.
    public var features = ["x", "y"]
    /// Neurons per hidden layer.
    public var hidden = [4, 2]
    /// tanh, relu, sigmoid or linear.
    public var activation = "tanh"
    public var learningRate = 0.03
    /// none, l1 or l2.
    public var regularization = "none"
    public var regularizationRate = 0.0
    public var batchSize = 10

    public init() {}

    static let featureNames = ["x", "y", "x2", "y2", "xy", "sinx", "siny"]
    static let activations = ["tanh", "relu", "sigmoid", "linear"]

    /// Throws `DashboardError` naming the first choice out of range.
    func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw DashboardError(op: "playground", message()) }
        }
        try check(GeneratedSet.names.contains(dataset), "unknown data set \(dataset); expected \(GeneratedSet.names.joined(separator: ", "))")
        try check(noise.isFinite && noise >= 0 && noise <= 1, "noise must be in [0, 1], got \(noise)")
        try check(trainShare.isFinite && trainShare >= 0.1 && trainShare <= 0.9, "the training share must be in [0.1, 0.9], got \(trainShare)")
        try check(count >= 20 && count <= 5000, "count must be between 20 and 5000, got \(count)")
        try check(!features.isEmpty && features.allSatisfy(Self.featureNames.contains) && Set(features).count == features.count,
                  "features must be distinct names among \(Self.featureNames.joined(separator: ", ")), got \(features)")
        try check(hidden.count <= 6 && hidden.allSatisfy { (1...8).contains($0) }, "at most 6 hidden layers of 1 to 8 neurons, got \(hidden)")
        try check(Self.activations.contains(activation), "activation must be one of \(Self.activations.joined(separator: ", ")), got \(activation)")
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 10, "the learning rate must be in (0, 10], got \(learningRate)")
        try check(["none", "l1", "l2"].contains(regularization), "regularization must be none, l1 or l2, got \(regularization)")
        try check(regularizationRate.isFinite && regularizationRate >= 0 && regularizationRate <= 10,
                  "the regularization rate must be in [0, 10], got \(regularizationRate)")
        try check(batchSize >= 1 && batchSize <= 100, "the batch size must be between 1 and 100, got \(batchSize)")
    }

    /// The chosen features of points `[N, 2]`, as `[N, features.count]`.
    func featurize(_ points: Tensor) -> Tensor {
        let x = points[0..., 0..<1], y = points[0..., 1..<2]
        let columns: [Tensor] = features.map { name in
            switch name {
            case "x": return x
            case "y": return y
            case "x2": return x * x
            case "y2": return y * y
            case "xy": return x * y
            case "sinx": return (x * Double.pi).sin()
            default: return (y * Double.pi).sin()
            }
        }
        return Tensor.cat(columns, axis: 1)
    }
}

/// One playground network training on its own thread, one epoch at a time (at most about 60 a
/// second while playing), with the picture the page draws after each epoch.
final class PlaygroundSession: @unchecked Sendable {
    // @unchecked: `playing`, `steps`, `ended`, `picture` and `version` are guarded by `lock`; the
    // model and trainer are used on the session's thread only.
    let id: String
    let config: PlaygroundConfig
    private let lock = NSCondition()
    private var playing = false
    private var steps = 0
    private var ended = false
    private var picture = ""
    private var version = 0
    private var touched = Date()

    /// Points of the boundary picture per side, and of each neuron's picture.
    static let boundarySide = 50
    static let neuronSide = 20
    /// Seconds without a look from the page after which a playing session pauses.
    static let idlePause = 5.0

    init(id: String, config: PlaygroundConfig) {
        self.id = id
        self.config = config
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func control(_ action: String) throws {
        try lock.withLock {
            switch action {
            case "play": playing = true
            case "pause": playing = false
            case "step": playing = false; steps += 1
            default: throw DashboardError(op: "playground", "unknown action \(action); expected play, pause or step")
            }
            touched = Date()
            lock.broadcast()
        }
    }

    func end() { lock.withLock { ended = true; lock.broadcast() } }

    /// The latest picture when newer than `since`, with its version; nil when there is none newer.
    func state(since: Int) -> String? {
        lock.withLock {
            touched = Date()
            return version > since ? picture : nil
        }
    }

    var idle: TimeInterval { lock.withLock { Date().timeIntervalSince(touched) } }

    private func run() {
        let g = RandomGenerator(seed: config.seed)
        let set = GeneratedSet(config.dataset, count: config.count, noise: config.noise, seed: config.seed)
        let points = set.points()
        let n = points.count, trainCount = max(1, min(n - 1, Int((Double(n) * config.trainShare).rounded())))
        let raw = points.inputs.to(.float32)
        let labels = points.targets.to(.float32).reshape([n, 1])
        let inputs = config.featurize(raw)
        let train = TensorDataset(inputs: inputs[0..<trainCount], targets: labels[0..<trainCount])
        let test = TensorDataset(inputs: inputs[trainCount...], targets: labels[trainCount...])
        var layers: [Module] = []
        var width = config.features.count
        for units in config.hidden {
            layers.append(Linear(width, units, generator: g))
            if config.activation != "linear", let act = try? ActivationTable.layer(config.activation) { layers.append(act) }
            width = units
        }
        layers.append(Linear(width, 1, generator: g))
        let model = Sequential(layers)
        let weights = model.namedParameters().filter { $0.0.hasSuffix("weight") }.map(\.1)
        let kind = config.regularization, rate = config.regularizationRate
        let loss = Loss.custom(name: "loss") { outputs, targets in
            let data = Loss.bceWithLogits(outputs, targets)
            guard kind != "none", rate > 0 else { return data }
            var total = data
            for w in weights { total = total + (kind == "l1" ? w.value.abs().sum() : (w.value * w.value).sum()) * rate }
            return total
        }
        let optimizer = SGD(parameters: model.parameters(), lr: config.learningRate)
        let trainer = Trainer(model: model, optimizer: optimizer, loss: loss, verbosity: .silent)
        let loader = DataLoader(train, batchSize: config.batchSize, shuffle: true, seed: config.seed)
        var history: [(train: Double, test: Double)] = []
        let extent = Self.extent(of: raw.doubles)
        let grid = Self.grid(side: Self.boundarySide, extent: extent), small = Self.grid(side: Self.neuronSide, extent: extent)
        let gridFeatures = config.featurize(grid), smallFeatures = config.featurize(small)

        func evaluate(_ data: TensorDataset) -> Double {
            withoutGrad { Loss.bceWithLogits(model(data.inputs), data.targets).item() }
        }
        func publish(epoch: Int) {
            let picture = withoutGrad { self.picture(model: model, epoch: epoch, history: history, raw: raw, labels: labels,
                                                    trainCount: trainCount, grid: gridFeatures, small: smallFeatures, extent: extent) }
            lock.withLock {
                self.picture = picture
                version += 1
            }
        }
        history.append((evaluate(train), evaluate(test)))
        publish(epoch: 0)
        var epoch = 0
        while true {
            let go: Bool = lock.withLock {
                // A page that stopped asking (closed, or its server stopped) pauses the training.
                if playing && Date().timeIntervalSince(touched) > Self.idlePause { playing = false }
                while !ended && !playing && steps == 0 { lock.wait() }
                if ended { return false }
                if !playing { steps -= 1 }
                return true
            }
            guard go else { return }
            let started = Date()
            _ = try? trainer.fit(loader, epochs: epoch + 1, initialEpoch: epoch)
            epoch += 1
            history.append((evaluate(train), evaluate(test)))
            if history.count > 2000 { history.removeFirst(history.count - 2000) }
            publish(epoch: epoch)
            let spent = Date().timeIntervalSince(started)
            if spent < 1.0 / 60 { usleep(UInt32((1.0 / 60 - spent) * 1e6)) }
        }
    }

    /// The square the pictures cover: the points' bounding box made square, with a tenth of
    /// margin (moons reach x = 2, the others stay near [-1, 1]).
    static func extent(of xy: [Double]) -> (x0: Double, y0: Double, size: Double) {
        var lo = (Double.infinity, Double.infinity), hi = (-Double.infinity, -Double.infinity)
        for i in stride(from: 0, to: xy.count - 1, by: 2) {
            lo = (min(lo.0, xy[i]), min(lo.1, xy[i + 1]))
            hi = (max(hi.0, xy[i]), max(hi.1, xy[i + 1]))
        }
        guard lo.0.isFinite, lo.1.isFinite else { return (-1.6, -1.6, 3.2) }
        let size = max(hi.0 - lo.0, hi.1 - lo.1, 1e-3) * 1.2
        return ((lo.0 + hi.0 - size) / 2, (lo.1 + hi.1 - size) / 2, size)
    }

    /// Points of a side×side grid over `extent`, row-major from the top row down.
    static func grid(side: Int, extent: (x0: Double, y0: Double, size: Double)) -> Tensor {
        var values: [Float] = []
        values.reserveCapacity(2 * side * side)
        for r in 0..<side {
            for c in 0..<side {
                values.append(Float(extent.x0 + extent.size * (Double(c) + 0.5) / Double(side)))
                values.append(Float(extent.y0 + extent.size - extent.size * (Double(r) + 0.5) / Double(side)))
            }
        }
        return Tensor(shape: [side * side, 2], scalars: values)
    }

    /// JSON of what the page draws: the output's probability over the grid, each neuron's output
    /// over the small grid (by layer), the points, and the losses.
    private func picture(model: Sequential, epoch: Int, history: [(train: Double, test: Double)], raw: Tensor, labels: Tensor,
                         trainCount: Int, grid: Tensor, small: Tensor, extent: (x0: Double, y0: Double, size: Double)) -> String {
        func numbers(_ t: Tensor, digits: Double = 1000) -> String {
            t.doubles.map { $0.isFinite ? String(($0 * digits).rounded() / digits) : "null" }.joined(separator: ",")
        }
        let output = model(grid).sigmoid()
        // A neuron's output is its activation's, or its Linear's when the network has no activations.
        let linear = config.activation == "linear"
        var h = small
        var layerOutputs: [String] = []
        for layer in model.layers.dropLast() {
            h = layer(h)
            guard (layer is Linear) == linear else { continue }
            layerOutputs.append("[" + (0..<h.shape[1]).map { "[" + numbers(h[0..., $0]) + "]" }.joined(separator: ",") + "]")
        }
        let inputs = config.features.indices.map { "[" + numbers(small[0..., $0]) + "]" }
        let last = history.last ?? (.nan, .nan)
        return "{\"session\":" + JSONText.quote(id) + ",\"epoch\":\(epoch),\"version\":\(version + 1)"
            + ",\"trainLoss\":" + JSONText.number(last.train) + ",\"testLoss\":" + JSONText.number(last.test)
            + ",\"history\":[" + history.map { "[" + JSONText.number($0.train) + "," + JSONText.number($0.test) + "]" }.joined(separator: ",") + "]"
            + ",\"boundarySide\":\(Self.boundarySide),\"neuronSide\":\(Self.neuronSide)"
            + ",\"extent\":[\(extent.x0),\(extent.y0),\(extent.size)]"
            + ",\"boundary\":[" + numbers(output) + "]"
            + ",\"inputs\":[" + inputs.joined(separator: ",") + "]"
            + ",\"neurons\":[" + layerOutputs.joined(separator: ",") + "]"
            + ",\"points\":[" + numbers(raw) + "],\"labels\":[" + numbers(labels, digits: 1) + "],\"trainCount\":\(trainCount)}"
    }
}

/// The playground's sessions (at most `capacity`; the longest idle is ended first) and its routes.
final class PlaygroundHost: @unchecked Sendable {
    // @unchecked: `sessions` and `counter` are guarded by `lock`.
    private let lock = NSLock()
    private var sessions: [String: PlaygroundSession] = [:]
    private var counter = 0
    let capacity: Int

    init(capacity: Int = 4) { self.capacity = capacity }

    deinit { for s in sessions.values { s.end() } }

    /// The answer to a request under `/api/playground/`.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("POST", "/api/playground/session"):
            let config: PlaygroundConfig
            do {
                config = try JSONDecoder().decode(PlaygroundConfig.self, from: Data(request.body))
                try config.validate()
            } catch let error as DashboardError {
                return DashboardRoutes.error(400, "\(error)")
            } catch {
                return DashboardRoutes.error(400, "[playground] the settings do not read: \(error)")
            }
            let session = self.create(config)
            return DashboardRoutes.json("{\"session\":" + JSONText.quote(session.id) + "}")
        case ("POST", "/api/playground/control"):
            guard let session = self.session(request.query("session")) else {
                return DashboardRoutes.error(404, "[playground] no such session")
            }
            let action = (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["action"] as? String ?? ""
            do { try session.control(action) } catch { return DashboardRoutes.error(400, "\(error)") }
            return DashboardRoutes.json("{\"ok\":true}")
        case ("GET", "/api/playground/state"), ("HEAD", "/api/playground/state"):
            guard let session = self.session(request.query("session")) else {
                return DashboardRoutes.error(404, "[playground] no such session")
            }
            let since = request.query("since", as: Int.self) ?? 0
            // Waits up to 1 s for a newer picture, so the page asks again at once and sees every frame it can draw.
            for _ in 0..<100 {
                if let picture = session.state(since: since) { return DashboardRoutes.json(picture) }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return HTTPResponse(status: 204)
        default:
            return DashboardRoutes.error(404, "[playground] nothing at \(request.method) \(request.path)")
        }
    }

    func create(_ config: PlaygroundConfig) -> PlaygroundSession {
        let session: PlaygroundSession = lock.withLock {
            counter += 1
            let s = PlaygroundSession(id: "p\(counter)-" + DashboardServer.makeToken().prefix(8), config: config)
            if sessions.count >= capacity, let oldest = sessions.values.max(by: { $0.idle < $1.idle }) {
                oldest.end()
                sessions[oldest.id] = nil
            }
            sessions[s.id] = s
            return s
        }
        session.start()
        return session
    }

    /// Ends every session's training (when the server stops).
    func endAll() {
        let all: [PlaygroundSession] = lock.withLock {
            defer { sessions = [:] }
            return Array(sessions.values)
        }
        for s in all { s.end() }
    }

    func session(_ id: String?) -> PlaygroundSession? {
        guard let id else { return nil }
        return lock.withLock { sessions[id] }
    }
}
