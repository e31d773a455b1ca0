import Foundation
import MyelinCore
import MyelinNN
import MyelinTrain

/// The controls of a training that a dashboard serves while it runs: pause, resume, step one batch,
/// change the learning rate, stop and save, and look inside the model between two batches.
///
/// The trainer's thread owns the model: the server never touches a tensor. It leaves requests
/// here, and `callback` (added to the trainer) carries them out at the end of a batch, where a
/// paused training waits. The trainer takes one lock per batch to read the requests; nothing the
/// server does can make it wait longer than that.
///
/// ```swift
/// let live = LiveRun(id: "mnist")
/// let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, callbacks: [live.callback])
/// live.pause()          // from the server: the trainer stops after its current batch
/// live.step()           // one more batch, then paused again
/// live.resume()
/// ```
public final class LiveRun: @unchecked Sendable {
    // @unchecked: every stored property below is read and written with `lock` held.

    /// Where training is, as the page shows it.
    public enum State: String, Sendable, Codable {
        case starting, running, paused, stopping, finished
    }

    /// What the page sees of the live run.
    public struct Status: Sendable, Codable, Equatable {
        public var state: State
        public var step: Int
        public var epoch: Int
        public var batch: Int
        public var lr: Double?
        /// Why a learning-rate change is refused (a scheduler sets the rate), or nil.
        public var lrLocked: String?
    }

    /// The run folder's id under the served directory (its path relative to it).
    public let id: String
    private let lock = NSCondition()
    private var state = State.starting
    private var stepsAllowed = 0
    private var pendingLR: Double?
    private var stopRequested = false
    private var status: Status
    private var inspections: [(layer: String?, reply: @Sendable (String) -> Void)] = []
    /// The callback that carries out the requests on the trainer's thread.
    public private(set) lazy var callback: Callback = LiveRunCallback(live: self)

    public init(id: String) {
        self.id = id
        status = Status(state: .starting, step: 0, epoch: 0, batch: 0, lr: nil, lrLocked: nil)
    }

    /// The state the page shows.
    public var current: Status { lock.withLock { status } }

    /// Stops the trainer at the end of its current batch until `resume` or `step`.
    public func pause() {
        lock.withLock {
            guard state == .running || state == .starting else { return }
            state = .paused
            stepsAllowed = 0
            status.state = .paused
            lock.broadcast()
        }
    }

    /// Lets a paused trainer go on.
    public func resume() {
        lock.withLock {
            guard state == .paused else { return }
            state = .running
            status.state = .running
            lock.broadcast()
        }
    }

    /// Lets a paused trainer take exactly one more batch, then pause again. Returns false when
    /// training is not paused.
    @discardableResult
    public func step() -> Bool {
        lock.withLock {
            guard state == .paused else { return false }
            stepsAllowed += 1
            lock.broadcast()
            return true
        }
    }

    /// Sets every parameter group's learning rate from the next batch on; throws when a scheduler
    /// owns the rate or the value is not a positive finite number.
    public func setLearningRate(_ lr: Double) throws {
        guard lr.isFinite && lr > 0 else { throw DashboardError(op: "lr", "the learning rate must be a positive number, got \(lr)") }
        try lock.withLock {
            if let why = status.lrLocked { throw DashboardError(op: "lr", why) }
            guard state != .finished && state != .stopping else { throw DashboardError(op: "lr", "training has ended") }
            pendingLR = lr
            // Shown at once: it is the rate of the next batch.
            status.lr = lr
            lock.broadcast()
        }
    }

    /// Ends training at the end of the current batch; the run folder is saved and can be resumed.
    public func stop() {
        lock.withLock {
            guard state != .finished else { return }
            stopRequested = true
            state = .stopping
            status.state = .stopping
            lock.broadcast()
        }
    }

    /// Asks the trainer for a look inside the model at the end of its current batch (at once
    /// when paused): JSON of `Inspection`, for `layer` (a name of `TrainingContext.activations`),
    /// or the first layer with parameters.
    public func inspect(layer: String?) async -> String {
        await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
            ask(layer: layer) { done.resume(returning: $0) }
        }
    }

    /// `inspect` for a thread that may block (the server's connection threads).
    func inspectWaiting(layer: String?) -> String {
        let answer = Answer()
        ask(layer: layer) { answer.set($0) }
        return answer.get()
    }

    private func ask(layer: String?, reply: @escaping @Sendable (String) -> Void) {
        let accepted: Bool = lock.withLock {
            guard state != .finished else { return false }
            inspections.append((layer, reply))
            lock.broadcast()
            return true
        }
        if !accepted { reply(#"{"error":"training has ended"}"#) }
    }

    /// One reply, handed from the trainer's thread to a waiting thread.
    private final class Answer: @unchecked Sendable {
        // @unchecked: `text` is guarded by `condition`.
        private let condition = NSCondition()
        private var text: String?
        func set(_ value: String) { condition.withLock { text = value; condition.broadcast() } }
        func get() -> String {
            condition.withLock {
                while text == nil { condition.wait() }
                return text!
            }
        }
    }

    // MARK: The trainer's side

    func trainBegan(_ ctx: TrainingContext) {
        let locked = ctx.trainer.scheduler.map { "a scheduler (\(type(of: $0))) sets the learning rate of this run" }
        lock.withLock {
            if state == .starting { state = .running }
            status = Status(state: state, step: ctx.step, epoch: ctx.epoch, batch: 0, lr: ctx.optimizer.lr, lrLocked: locked)
        }
    }

    /// At the end of each batch: apply a new rate, answer inspections, wait while paused.
    func batchEnded(_ ctx: TrainingContext) {
        lock.lock()
        defer { lock.unlock() }
        status.step = ctx.step
        status.epoch = ctx.epoch
        status.batch = ctx.batch
        while true {
            if let lr = pendingLR {
                ctx.optimizer.lr = lr
                pendingLR = nil
            }
            status.lr = ctx.optimizer.lr
            if !inspections.isEmpty {
                let waiting = inspections
                inspections = []
                lock.unlock()
                for request in waiting { request.reply(Inspection.json(ctx, layer: request.layer)) }
                lock.lock()
                continue
            }
            if stopRequested {
                ctx.trainer.stop(reason: "stopped from the dashboard after step \(ctx.step)")
                return
            }
            if state != .paused { return }
            if stepsAllowed > 0 {
                stepsAllowed -= 1
                return
            }
            status.state = .paused
            // The steps so far reach the batch log before waiting (it writes only after a step).
            for case let log as BatchLog in ctx.trainer.callbacks { log.flush(ctx) }
            lock.wait()
        }
    }

    func trainEnded() {
        let waiting: [(layer: String?, reply: @Sendable (String) -> Void)] = lock.withLock {
            state = .finished
            status.state = .finished
            defer { inspections = [] }
            return inspections
        }
        for request in waiting { request.reply(#"{"error":"training has ended"}"#) }
    }
}

/// Carries out a `LiveRun`'s requests on the trainer's thread.
final class LiveRunCallback: Callback {
    unowned let live: LiveRun

    init(live: LiveRun) { self.live = live }

    func onTrainBegin(_ ctx: TrainingContext) { live.trainBegan(ctx) }
    func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) { live.batchEnded(ctx) }
    func onTrainEnd(_ ctx: TrainingContext) { live.trainEnded() }
}

/// An error of a dashboard request or of starting the server: `[op] message`.
public struct DashboardError: Error, CustomStringConvertible, Sendable {
    public let op: String
    public let message: String

    public init(op: String, _ message: String) {
        self.op = op
        self.message = message
    }

    public var description: String { "[\(op)] \(message)" }
}
