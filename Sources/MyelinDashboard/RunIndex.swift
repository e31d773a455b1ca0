import Foundation
import MyelinRun

/// The run folders under the served directory, found by scanning it, each named by its path
/// relative to the directory.
///
/// Requests name a run by that id and the index looks it up among the folders it found: no
/// path from a request is ever joined to the directory, so nothing outside it can be read.
/// A training that has not reached its first checkpoint lives in a hidden staging folder
/// (`.mnist.tmp-<pid>`, see `RunTransaction`); while its process lives it is listed under the
/// name it will have (`mnist`), or `mnist (new)` beside an older run of that name.
///
/// ```swift
/// let index = RunIndex(root: "runs")
/// for run in index.runs() { print(run.id, run.running) }
/// ```
public final class RunIndex: @unchecked Sendable {
    // @unchecked: `cached` and `scannedAt` are read and written with `lock` held.

    /// One run folder.
    public struct Entry: Sendable, Equatable {
        /// The folder relative to the root (`mnist`, `experiments/lr-0.1`).
        public var id: String
        /// The folder on disk.
        public var path: String
        /// A staging folder whose training process is alive.
        public var running: Bool
        /// Last change of the folder's logs (seconds since 1970).
        public var modified: Double
    }

    /// The folder served.
    public let root: String
    /// Folders deeper than this below the root are not searched.
    public let maxDepth: Int
    /// The most runs listed (the most recently changed first).
    public let maxRuns: Int
    /// How long a scan is reused, in seconds.
    public let freshness: Double
    private let lock = NSLock()
    private var cached: [Entry] = []
    private var scannedAt = -Double.infinity

    public init(root: String, maxDepth: Int = 3, maxRuns: Int = 5_000, freshness: Double = 1) {
        self.root = root
        self.maxDepth = maxDepth
        self.maxRuns = maxRuns
        self.freshness = freshness
    }

    /// The runs under the root, the most recently changed first.
    public func runs() -> [Entry] {
        let now = Date().timeIntervalSince1970
        if let fresh: [Entry] = lock.withLock({ now - scannedAt < freshness ? cached : nil }) { return fresh }
        let found = scan()
        lock.withLock {
            cached = found
            scannedAt = now
        }
        return found
    }

    /// The run named `id`, if the root holds it.
    public func run(_ id: String) -> Entry? {
        if let hit = runs().first(where: { $0.id == id }) { return hit }
        // A run that appeared since the last scan.
        lock.withLock { scannedAt = -.infinity }
        return runs().first { $0.id == id }
    }

    /// Files whose presence makes a folder a run.
    static let markers = ["model.json", "language-model.json", "sequence-classifier.json", "batches.csv", "metrics.csv"]

    private func scan() -> [Entry] {
        var found: [Entry] = []
        var published = Set<String>()
        var staged: [(id: String, path: String)] = []
        let fm = FileManager.default
        func visit(_ path: String, _ relative: String, depth: Int) {
            guard found.count + staged.count < maxRuns * 2,
                  let names = try? fm.contentsOfDirectory(atPath: path) else { return }
            if !relative.isEmpty, names.contains(where: Self.markers.contains) {
                found.append(Entry(id: relative, path: path, running: false, modified: Self.modified(path)))
                published.insert(relative)
                return
            }
            guard depth < maxDepth else { return }
            for name in names.sorted() {
                let child = (path as NSString).appendingPathComponent(name)
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: child, isDirectory: &isDir), isDir.boolValue else { continue }
                let childRelative = relative.isEmpty ? name : relative + "/" + name
                if name.hasPrefix(".") {
                    if let target = Self.stagingTarget(name) {
                        let id = relative.isEmpty ? target : relative + "/" + target
                        staged.append((id, child))
                    }
                    continue
                }
                visit(child, childRelative, depth: depth + 1)
            }
        }
        visit(root, "", depth: 0)
        for (id, path) in staged {
            guard let pid = Self.stagingPID(path), kill(pid, 0) == 0 || errno == EPERM else { continue }
            let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            guard names.contains(where: Self.markers.contains) else { continue }
            let shown = Self.stagedID(id, besideOlder: published.contains(id))
            found.append(Entry(id: shown, path: path, running: true, modified: Self.modified(path)))
        }
        found.sort { ($0.modified, $0.id) > ($1.modified, $1.id) }
        return Array(found.prefix(maxRuns))
    }

    /// The id a run still being written is listed by: its name, or `name (new)` beside an older
    /// run of that name (which `--overwrite` replaces when the new one finishes).
    public static func stagedID(_ name: String, besideOlder: Bool) -> String { besideOlder ? name + " (new)" : name }

    /// `mnist` for `.mnist.tmp-123`; nil for other hidden names.
    static func stagingTarget(_ name: String) -> String? {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let target = String(name[name.index(after: name.startIndex)..<range.lowerBound])
        return target.isEmpty ? nil : target
    }

    static func stagingPID(_ path: String) -> pid_t? {
        let name = (path as NSString).lastPathComponent
        guard let range = name.range(of: ".tmp-", options: .backwards) else { return nil }
        return pid_t(name[range.upperBound...])
    }

    /// The newest modification time of the logs that grow during training.
    static func modified(_ path: String) -> Double {
        var newest = 0.0
        for name in ["batches.csv", "metrics.csv", "insights.jsonl", "model.json"] {
            let file = (path as NSString).appendingPathComponent(name)
            if let date = (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date {
                newest = max(newest, date.timeIntervalSince1970)
            }
        }
        return newest
    }
}
