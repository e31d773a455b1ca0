import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MyelinCore

/// A file Myelin can find on disk or download: its path in a folder layout, size, SHA-256 and public URL.
///
/// Data sets (`Catalogue`) and pretrained models (`Pretrained`) describe their files with it and
/// find them through one `FileStore`.
public struct StoredFile: Sendable {
    /// What the file is: `train-images`, `data`, `text`, or for models the file's own name (`vocab.txt`).
    public let role: String
    /// Path inside a store folder, e.g. `mnist/train-images-idx3-ubyte.gz`.
    public let path: String
    /// SHA-256 of the file as stored (lowercase hex).
    public let sha256: String
    /// Size in bytes.
    public let bytes: Int
    /// Where to download it from.
    public let url: String
    /// For archives: the member to extract (the download is a zip holding the file).
    public let archiveMember: String?

    public init(role: String, path: String, sha256: String, bytes: Int, url: String, archiveMember: String? = nil) {
        self.role = role
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
        self.url = url
        self.archiveMember = archiveMember
    }
}

/// Finds a set of files in folders, or downloads them into a cache folder, checked by SHA-256.
///
/// The one locate/download/verify path of Myelin: the data catalogue and the pretrained-model
/// registry are two stores over it. A set of files is found in the first folder of `searchPaths`
/// that holds all of them with the right sizes; otherwise (when `allowDownload`) each missing
/// file is downloaded into `cacheDirectory` through a temporary file, checked against its SHA-256
/// and renamed into place. A mirror (a URL or a folder) replaces the download sources: files are
/// fetched from `<mirror>/<path>`.
///
/// ```swift
/// let store = FileStore(op: "model", searchPaths: ["/models"], cacheDirectory: "/tmp/cache", mirror: nil)
/// let paths = try store.locate("all-MiniLM-L6-v2", files: entry.files)   // role -> path
/// ```
public struct FileStore: Sendable {
    /// The op named in errors (`data`, `model`).
    public let op: String
    /// The folders searched, in order.
    public let searchPaths: [String]
    /// Where downloads go (also searched, last).
    public let cacheDirectory: String
    /// A URL or folder that replaces every download source.
    public let mirror: String?
    public let allowDownload: Bool

    public init(op: String, searchPaths: [String], cacheDirectory: String, mirror: String?, allowDownload: Bool = true) {
        self.op = op
        self.searchPaths = searchPaths
        self.cacheDirectory = cacheDirectory
        self.mirror = mirror
        self.allowDownload = allowDownload
    }

    /// The user's cache folder for Myelin: `$XDG_CACHE_HOME/myelin` or `~/.cache/myelin`.
    public static func userCache(_ environment: [String: String]) -> String {
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/myelin" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/myelin"
    }

    /// The paths of `files` by role, downloading them if needed and allowed.
    public func locate(_ name: String, files: [StoredFile]) throws -> [String: String] {
        if files.isEmpty { return [:] }
        if let found = folder(holding: files) { return paths(of: files, in: found) }
        let looked = searchPaths.joined(separator: ", ") + wrongSizes(files)
        guard allowDownload else {
            throw DataError(op: op, reason: "cannot find '\(name)': looked in \(looked); downloading is off")
        }
        var found: [String: String] = [:]
        for file in files {
            let target = cacheDirectory + "/" + file.path
            if fileSize(target) == file.bytes {
                found[file.role] = target
                continue
            }
            let source = downloadSource(file)
            do {
                try download(file, from: source, to: target)
            } catch {
                let reason = (error as? DataError)?.reason ?? "\(error)"
                throw DataError(op: op, reason: "cannot find '\(name)': looked in \(looked); download from \(source) failed: \(reason)")
            }
            found[file.role] = target
        }
        return found
    }

    /// The first search folder holding every file with the right size, or nil.
    public func folder(holding files: [StoredFile]) -> String? {
        searchPaths.first { dir in files.allSatisfy { fileSize(dir + "/" + $0.path) == $0.bytes } }
    }

    /// Checks the SHA-256 of every located file; throws on the first mismatch.
    public func verify(_ name: String, files: [StoredFile]) throws {
        let paths = try locate(name, files: files)
        for file in files {
            let path = paths[file.role]!
            let digest = SHA256.hex(of: try readFileBytes(path, op: op))
            guard digest == file.sha256 else {
                throw DataError(op: op, file: path, reason: "SHA-256 is \(digest), expected \(file.sha256)")
            }
        }
    }

    // MARK: internals

    /// " (dir/file has n bytes, expected m)" for the first file found with the wrong size: a
    /// truncated or replaced file is named rather than reported as missing.
    private func wrongSizes(_ files: [StoredFile]) -> String {
        for dir in searchPaths {
            for file in files {
                let path = dir + "/" + file.path
                if let size = fileSize(path), size != file.bytes {
                    return " (\(path) has \(size) bytes, expected \(file.bytes))"
                }
            }
        }
        return ""
    }

    private func paths(of files: [StoredFile], in dir: String) -> [String: String] {
        Dictionary(files.map { ($0.role, dir + "/" + $0.path) }, uniquingKeysWith: { a, _ in a })
    }

    private func fileSize(_ path: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) != .typeDirectory,
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.intValue
    }

    private func downloadSource(_ file: StoredFile) -> String {
        if let mirror, !mirror.isEmpty {
            return (mirror.hasSuffix("/") ? String(mirror.dropLast()) : mirror) + "/" + file.path
        }
        return file.url
    }

    private func download(_ file: StoredFile, from source: String, to target: String) throws {
        var bytes: [UInt8]
        if source.hasPrefix("/") || source.hasPrefix("file://") {
            let path = source.hasPrefix("file://") ? String(source.dropFirst(7)) : source
            bytes = try readFileBytes(path, op: op)
        } else {
            bytes = try FileStore.fetch(source, op: op)
        }
        if let member = file.archiveMember, !source.hasSuffix(file.path) {
            bytes = try ZipMember.extract(member, from: bytes)
        }
        let digest = SHA256.hex(of: bytes)
        guard digest == file.sha256 else {
            throw DataError(op: op, reason: "got \(bytes.count) bytes with SHA-256 \(digest), expected \(file.sha256)")
        }
        let folder = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw DataError(op: op, reason: "cannot create \(folder): \(error.localizedDescription)")
        }
        do { try AtomicFile.write(bytes, to: target) } catch let e as FileError {
            throw DataError(op: op, reason: e.description)
        }
    }

    /// Downloads `url` synchronously (60 s without data); HTTP errors throw.
    static func fetch(_ url: String, op: String) throws -> [UInt8] {
        guard let u = URL(string: url) else { throw DataError(op: op, reason: "bad URL \(url)") }
        // @unchecked: `result` is written by the completion handler before `done` is signalled and read after waiting on it.
        final class Box: @unchecked Sendable { var result: Result<[UInt8], DataError> = .failure(DataError(op: "data", reason: "no response")) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: u)
        request.timeoutInterval = 60
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(DataError(op: op, reason: error.localizedDescription))
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                box.result = .failure(DataError(op: op, reason: "HTTP status \(http.statusCode)"))
            } else {
                box.result = .success(data.map { [UInt8]($0) } ?? [])
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try box.result.get()
    }
}

/// Extracts one member of a zip archive, for downloads that come zipped (the core's `ZipArchive` reads it).
enum ZipMember {
    /// The member called `name` (at the top or in a folder); errors are `[zip] ...` `DataError`s.
    static func extract(_ name: String, from bytes: [UInt8]) throws -> [UInt8] {
        let found: [UInt8]?
        do {
            found = try ZipArchive.member(in: bytes, file: "download") { $0 == name || $0.hasSuffix("/" + name) }
        } catch let NPYError.badZip(_, reason) {
            throw DataError(op: "zip", reason: reason)
        }
        guard let found else { throw DataError(op: "zip", reason: "no member '\(name)'") }
        return found
    }
}
