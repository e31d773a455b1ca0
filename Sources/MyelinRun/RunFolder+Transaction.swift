import CMyelinKernels
import Foundation
import MyelinCore

/// A run folder written as a transaction: a new run is built in a hidden staging folder beside
/// the target (`runs/.mnist.tmp-<pid>`), which is renamed into place at the first checkpoint, so a
/// folder named as the target always holds a run whose weights load and which resumes.
///
/// A target that already holds a run is replaced only with `overwrite`, and only when the new run
/// has finished: the two folders are exchanged atomically (Linux `renameat2(RENAME_EXCHANGE)`,
/// macOS `renamex_np(RENAME_SWAP)`), then the old one is removed. Where the file system cannot
/// exchange, the old run is first renamed to `.NAME.old-<pid>` and the new one into place; a kill
/// between the two renames leaves the target absent and the old run beside it, and the next
/// command on the target renames it back (the recovery rule in `recoverStale`).
///
/// ```swift
/// let tx = try RunTransaction(target: "runs/iris", overwrite: false)
/// try tx.current.writeJSON(description, to: tx.current.description)
/// // ... after the first checkpoint:
/// try tx.publishIfNew()
/// // ... after the last file:
/// try tx.commit()
/// ```
public final class RunTransaction {
    /// Where the run belongs.
    public let target: RunFolder
    /// Replace a run already in `target` when this one finishes.
    public let overwrite: Bool
    /// Where files go now: the staging folder, then (once published) the target.
    public private(set) var current: RunFolder
    /// Whether `target` holds this run.
    public private(set) var published = false

    /// Checks the target and makes the staging folder; removes what killed runs left beside it.
    /// Throws when the target is a file, holds a run and `overwrite` is false, or cannot be made.
    public init(target path: String, overwrite: Bool) throws {
        let target = RunFolder(path)
        self.target = target
        self.overwrite = overwrite
        try Self.checkTarget(target, overwrite: overwrite)
        Self.recoverStale(target)
        let staging = RunFolder(Self.stagingPath(for: target.path, tag: "tmp", pid: getpid()))
        try? FileManager.default.removeItem(atPath: staging.path)
        try staging.create()
        current = staging
    }

    /// Throws what `init` would about the target, without writing anything: it is a file, cannot
    /// be created, or (without `overwrite`) is a folder that is not empty.
    public static func checkTarget(_ target: RunFolder, overwrite: Bool) throws {
        try target.checkCreatable()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isDir) else { return }
        guard isDir.boolValue else { throw RunError(op: "train", "--out \(target.path) is a file") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
        if !entries.isEmpty && !overwrite {
            let what = FileManager.default.fileExists(atPath: target.description) ? "holds a run" : "is not empty"
            throw RunError(op: "train", "--out \(target.path) \(what); pass --overwrite to replace it when the new run "
                           + "finishes, or choose another folder")
        }
    }

    /// A transaction on a run that is already in place (`resume` writes into it directly).
    public init(existing run: RunFolder) {
        target = run
        overwrite = false
        current = run
        published = true
    }

    /// Moves the staging folder into place when the target does not exist yet (a new run appears at
    /// its first checkpoint). With `overwrite` and an existing target nothing moves until `commit`.
    public func publishIfNew() throws {
        guard !published else { return }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDir) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            if !entries.isEmpty { return }
            // An empty folder (made by the user) is replaced at once.
            if rmdir(target.path) != 0 { return }
        }
        if rename(current.path, target.path) != 0 {
            throw RunError(op: "train", "cannot move the run into \(target.path): \(String(cString: strerror(errno)))")
        }
        current = target
        published = true
    }

    /// Puts the finished run in place: publishes a new run, or exchanges it with the old one and
    /// removes the old one.
    public func commit() throws {
        try publishIfNew()
        guard !published else { return }
        if myelin_rename_exchange(current.path, target.path) == 0 {
            let old = current
            current = target
            published = true
            try? FileManager.default.removeItem(atPath: old.path)
            return
        }
        // No atomic exchange here: old run aside, new run in, old run removed.
        let aside = Self.stagingPath(for: target.path, tag: "old", pid: getpid())
        guard rename(target.path, aside) == 0 else {
            throw RunError(op: "train", "cannot replace \(target.path): \(String(cString: strerror(errno)))")
        }
        guard rename(current.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = rename(aside, target.path)
            throw RunError(op: "train", "cannot replace \(target.path): \(reason)")
        }
        current = target
        published = true
        try? FileManager.default.removeItem(atPath: aside)
    }

    /// Removes the staging folder of a run that failed before it was published. A published run
    /// stays: it holds its last checkpoint and resumes from it.
    public func abandon() {
        if !published { try? FileManager.default.removeItem(atPath: current.path) }
    }

    /// Runs `body`, abandoning the transaction (`abandon()`) when it throws: how every kind of run
    /// writes a new run folder.
    func abandoningOnError<T>(_ body: () throws -> T) rethrows -> T {
        do { return try body() } catch {
            abandon()
            throw error
        }
    }

    /// `parent/.name.tag-pid`.
    static func stagingPath(for target: String, tag: String, pid: Int32) -> String {
        let (parent, name) = split(target)
        return (parent as NSString).appendingPathComponent(".\(name).\(tag)-\(pid)")
    }

    public static func split(_ path: String) -> (parent: String, name: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", trimmed) }
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        return (parent, String(trimmed[trimmed.index(after: slash)...]))
    }

    /// Cleans up after killed commands on `target`: staging folders of processes that are gone are
    /// removed, and an old run set aside by an interrupted replacement is put back when the target
    /// is missing (or removed when the target holds the new run).
    public static func recoverStale(_ target: RunFolder) {
        let (parent, name) = split(target.path)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries where entry.hasPrefix(".\(name).") {
            let rest = entry.dropFirst(name.count + 2)
            let tag: String
            if rest.hasPrefix("tmp-") { tag = "tmp" } else if rest.hasPrefix("old-") { tag = "old" } else { continue }
            guard let pid = Int32(rest.dropFirst(4)), !isAlive(pid) else { continue }
            let path = (parent as NSString).appendingPathComponent(entry)
            if tag == "old" && !FileManager.default.fileExists(atPath: target.path) {
                _ = rename(path, target.path)
            } else {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        removeStaleFiles(in: target)
    }

    /// Removes temporary files of interrupted atomic writes (`.model.safetensors.tmp-XXXXXX`) inside a run.
    static func removeStaleFiles(in run: RunFolder) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: run.path) else { return }
        for entry in entries where entry.hasPrefix(".") && entry.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: run.file(entry))
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
    }
}
