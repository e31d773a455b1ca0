import Foundation
import MyelinCore
import MyelinRun
import MyelinTrain

/// What the dashboard has read of each run's logs, kept between requests so that a poll reads only
/// the lines added since the last one.
///
/// Steps (`batches.csv`) are kept as columns; insight lines (`insights.jsonl`) as the JSON text
/// they are, sent to the page unparsed. The most recently used `capacity` runs stay in memory.
/// Connection threads share it: every read holds `lock`.
final class RunStore: @unchecked Sendable {
    // @unchecked: `cache` is guarded by `lock`.
    struct Steps {
        var path: String
        var tail = LogTail()
        var step: [Int] = []
        var epoch: [Int] = []
        var loss: [Double] = []
        var lr: [Double] = []
        /// Bumped when the file was cut, so a page that asks `from` an older generation starts over.
        var generation = 0
    }

    struct Insights {
        var path: String
        var tail = LogTail()
        var lines: [String] = []
        var generation = 0
    }

    struct Cached {
        var steps: Steps
        var insights: Insights
        var used: Double
    }

    let index: RunIndex
    let capacity: Int
    /// The most bytes of one log read per poll; the rest comes at the next.
    static let maxRead = 8 << 20
    private var cache: [String: Cached] = [:]
    private let lock = NSLock()

    init(index: RunIndex, capacity: Int = 64) {
        self.index = index
        self.capacity = capacity
    }

    /// The run's steps from index `from` on, as JSON columns:
    /// `{"generation":g,"from":n,"total":t,"step":[..],"epoch":[..],"loss":[..],"lr":[..]}`.
    /// A `generation` other than the page's means the log was cut: start again from 0.
    func steps(_ run: RunIndex.Entry, from: Int, generation: Int?) -> String {
        lock.lock()
        defer { lock.unlock() }
        let s = touched(run, steps: true, insights: false).steps
        let start = Self.start(from: from, asked: generation, current: s.generation, count: s.step.count)
        let range = start..<s.step.count
        return "{\"generation\":\(s.generation),\"from\":\(start),\"total\":\(s.step.count),"
            + "\"step\":[\(s.step[range].map(String.init).joined(separator: ","))],"
            + "\"epoch\":[\(s.epoch[range].map(String.init).joined(separator: ","))],"
            + "\"loss\":[\(s.loss[range].map { JSONText.number($0) }.joined(separator: ","))],"
            + "\"lr\":[\(s.lr[range].map { JSONText.number($0) }.joined(separator: ","))]}"
    }

    /// The run's insight lines from index `from` on: `{"generation":g,"from":n,"total":t,"entries":[...]}`.
    func insights(_ run: RunIndex.Entry, from: Int, generation: Int?) -> String {
        lock.lock()
        defer { lock.unlock() }
        let s = touched(run, steps: false, insights: true).insights
        let start = Self.start(from: from, asked: generation, current: s.generation, count: s.lines.count)
        return "{\"generation\":\(s.generation),\"from\":\(start),\"total\":\(s.lines.count),\"entries\":["
            + s.lines[start...].joined(separator: ",") + "]}"
    }

    /// Where an answer starts: 0 when the page's generation is not the log's (the log was cut),
    /// else `from` within the lines there are.
    static func start(from: Int, asked: Int?, current: Int, count: Int) -> Int {
        (asked != nil && asked != current) ? 0 : max(0, min(from, count))
    }

    /// The run's cache entry, refreshed and marked as just used.
    private func touched(_ run: RunIndex.Entry, steps: Bool, insights: Bool) -> Cached {
        var entry = refreshed(run, steps: steps, insights: insights)
        entry.used = Date().timeIntervalSince1970
        cache[run.id] = entry
        return entry
    }

    /// How many steps and insight lines each of `runs` has now (reads what was added).
    func counts(_ runs: [RunIndex.Entry]) -> [String: (steps: Int, insights: Int)] {
        lock.lock()
        defer { lock.unlock() }
        var out: [String: (steps: Int, insights: Int)] = [:]
        for run in runs {
            let entry = refreshed(run, steps: true, insights: true)
            cache[run.id] = entry
            out[run.id] = (entry.steps.step.count, entry.insights.lines.count)
        }
        return out
    }

    /// The run's cache entry with the lines added to the logs asked for (a page asking for steps
    /// does not make the insights file be read, nor the other way round).
    private func refreshed(_ run: RunIndex.Entry, steps readSteps: Bool, insights readInsights: Bool) -> Cached {
        let folder = RunFolder(run.path)
        var entry = cache[run.id] ?? Cached(steps: Steps(path: folder.batchLog), insights: Insights(path: folder.insights), used: 0)
        // A staging folder renamed into place: follow the run to its new path.
        if entry.steps.path != folder.batchLog {
            entry = Cached(steps: Steps(path: folder.batchLog, generation: entry.steps.generation + 1),
                           insights: Insights(path: folder.insights, generation: entry.insights.generation + 1), used: 0)
        }
        // A log that cannot be read now is read at the next poll.
        let (lines, reset) = readSteps ? (try? entry.steps.tail.read(entry.steps.path, maxBytes: Self.maxRead)) ?? ([], false) : ([], false)
        if reset {
            entry.steps = Steps(path: entry.steps.path, tail: entry.steps.tail, generation: entry.steps.generation + 1)
        }
        for line in lines {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count >= 4, let step = Int(cells[0]), let epoch = Int(cells[1]), let loss = Double(cells[3]) else { continue }
            entry.steps.step.append(step)
            entry.steps.epoch.append(epoch)
            entry.steps.loss.append(loss)
            entry.steps.lr.append(cells.count > 4 ? Double(cells[4]) ?? .nan : .nan)
        }
        let (insightLines, insightReset) = readInsights
            ? (try? entry.insights.tail.read(entry.insights.path, maxBytes: Self.maxRead)) ?? ([], false) : ([], false)
        if insightReset {
            entry.insights = Insights(path: entry.insights.path, tail: entry.insights.tail, generation: entry.insights.generation + 1)
        }
        for line in insightLines where line.hasPrefix("{") && line.hasSuffix("}") {
            entry.insights.lines.append(String(line))
        }
        if cache[run.id] == nil && cache.count >= capacity,
           let oldest = cache.min(by: { $0.value.used < $1.value.used })?.key {
            cache[oldest] = nil
        }
        return entry
    }
}
