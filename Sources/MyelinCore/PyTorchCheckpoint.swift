/// A PyTorch checkpoint that cannot be read: `[pytorch] model.pt: <reason>`, one line with the numbers.
///
/// ```swift
/// do { _ = try PyTorchCheckpoint.load("evil.pt") } catch { print(error) }
/// // [pytorch] evil.pt: data.pkl byte 2: global os.system is not allowed; ... (nothing in the file was run)
/// ```
public struct PyTorchCheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "[pytorch] \(file): \(reason)" }

    /// A failure reading `file` for `reason`.
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// Reads `.pt`/`.pth` files written by `torch.save(model.state_dict())` (the zip format of
/// PyTorch 1.6 and later) without running anything in them, as `torch.load(weights_only=True)`.
///
/// The pickle in `data.pkl` may name only `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, `torch.Size` and the
/// `torch.<Type>Storage` types; any other global (`os.system`, `builtins.eval`, a model's own
/// class) is refused by name before anything could use it. Everything from the file is checked:
/// each storage's size against its `data/<key>` entry, each view (offset, sizes, strides) against
/// its storage, integer widths, nesting (100 levels), entries (1,000,000), open MARKs, the memo,
/// and the elements expanded views may produce.
///
/// What comes back:
/// - Each tensor is a contiguous copy of its view, so tensors that share a storage in PyTorch
///   (tied weights, slices of one buffer) are independent here.
/// - dtypes: float32, float64, int64, int32 and bool as they are; float16 and bfloat16 widen to
///   float32, int16, int8 and uint8 to int32 (all exact). Other storages (complex, uint16, ...) are refused.
/// - Names: nested dicts, lists and tuples flatten to dotted paths (`{"model": {"fc.weight": w}}`
///   gives `model.fc.weight`, list items their index); a top-level dict with a `state_dict` key
///   (Lightning's and many training scripts' layout) gives that state dict alone. Non-tensor
///   values (epochs, learning rates, strings) are skipped; a lone tensor is named `tensor`.
/// - Order: the file's (a state dict's own order).
/// - Byte order: `byteorder` "little" (or absent, as before PyTorch 1.10) or "big", which is swapped.
///
/// The legacy format of PyTorch before 1.6 (a bare pickle) is refused with a hint to re-save it.
///
/// ```swift
/// for (name, tensor) in try PyTorchCheckpoint.load("resnet.pt") { print(name, tensor.shape) }
/// try model.load(from: "resnet.pt")   // Module.load(from:) reads .pt and .pth files with this
/// ```
public enum PyTorchCheckpoint {
    /// Containers nested deeper than this are refused (and cycles, which never end).
    static let maxDepth = 100
    /// Dict, list and tuple entries visited while flattening, at most: a few containers shared
    /// many times over would otherwise name 2^40 paths.
    static let maxEntries = 1_000_000
    /// Expanded views (stride 0) may give more elements than are stored: up to 8 elements per
    /// stored byte plus 2^24 in all, so that a small file cannot ask for terabytes.
    static let expansionAllowance = 1 << 24

    /// The tensors of a checkpoint file, in the file's order (see the type's documentation).
    ///
    /// ```swift
    /// let tensors = try PyTorchCheckpoint.load("model.pt")
    /// try Safetensors.save(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }), to: "model.safetensors")
    /// ```
    public static func load(_ path: String) throws -> [(name: String, tensor: Tensor)] {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch let e as FileError {
            throw PyTorchCheckpointError(file: path, reason: e.reason)
        }
        return try decode(bytes, file: path)
    }

    /// The tensors of a checkpoint held in memory; `file` names it in errors.
    ///
    /// ```swift
    /// let tensors = try PyTorchCheckpoint.decode(try AtomicFile.read("model.pt"), file: "model.pt")
    /// ```
    public static func decode(_ bytes: [UInt8], file: String = "<data>") throws -> [(name: String, tensor: Tensor)] {
        func fail(_ reason: String) -> PyTorchCheckpointError { PyTorchCheckpointError(file: file, reason: reason) }
        return try bytes.withUnsafeBytes { raw in
            let entries: [ZipArchive.Entry]
            do {
                entries = try ZipArchive.entries(in: raw, file: file)
            } catch NPYError.badZip(_, let reason) {
                throw notZip(raw, reason: reason, fail: fail)
            }
            do {
                return try decode(entries: entries, in: raw, fail: fail)
            } catch NPYError.badZip(_, let reason) {
                throw fail("bad zip: \(reason)")
            }
        }
    }

    /// Why bytes that are not a zip archive are not a checkpoint Myelin reads.
    private static func notZip(_ raw: UnsafeRawBufferPointer, reason: String, fail: (String) -> PyTorchCheckpointError) -> Error {
        // The legacy format is a pickle stream: PROTO 2 and the magic number first.
        if raw.count >= 2 && raw[0] == 0x80 && raw[1] <= 5 {
            return fail("this is the legacy PyTorch format (before 1.6, or _use_new_zipfile_serialization=False), which Myelin "
                        + "does not read; re-save it with PyTorch 1.6 or later: torch.save(torch.load(f, weights_only=True), f)")
        }
        if raw.count >= 4 && raw[0] == 0x50 && raw[1] == 0x4B {
            return fail("bad zip: \(reason)")
        }
        let head = raw.prefix(4).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
        return fail("not a zip archive (it starts with \(head.isEmpty ? "nothing" : head), not 50 4b); "
                    + "torch.save writes zip archives since PyTorch 1.6")
    }

    private static func decode(entries: [ZipArchive.Entry], in raw: UnsafeRawBufferPointer,
                               fail: @escaping (String) -> PyTorchCheckpointError) throws -> [(name: String, tensor: Tensor)] {
        // The top folder is named after the file torch.save wrote; data.pkl sits directly inside it.
        let pickles = entries.filter {
            let parts = $0.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.last == "data.pkl" && parts.count <= 2
        }
        guard let pickle = pickles.first else {
            let names = entries.prefix(5).map(\.name).joined(separator: ", ")
            throw fail("no data.pkl in the archive (\(entries.count) entries: \(names)\(entries.count > 5 ? ", ..." : "")); "
                       + "not a torch.save checkpoint")
        }
        guard pickles.count == 1 else { throw fail("\(pickles.count) data.pkl entries: \(pickles.map(\.name).joined(separator: ", "))") }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        var byName: [String: ZipArchive.Entry] = [:]
        for e in entries { byName[e.name] = e }

        var bigEndian = false
        if let entry = byName[prefix + "byteorder"] {
            let order = try ZipArchive.withContents(of: entry, in: raw, file: "") { String(decoding: $0.prefix(64), as: UTF8.self) }
            switch order {
            case "little": break
            case "big": bigEndian = true
            default: throw fail("byteorder is \"\(order)\", not \"little\" or \"big\"")
            }
        }

        var vm = Unpickler(UnsafeRawBufferPointer(start: nil, count: 0), fail: fail)
        let root = try ZipArchive.withContents(of: pickle, in: raw, file: "") { bytes -> PickleValue in
            vm = Unpickler(bytes, fail: fail)
            return try vm.run()
        }
        let named = try flatten(root, vm, fail: fail)

        // Storages are read entry by entry; each tensor is a checked copy of its view.
        var byStorage: [String: [Int]] = [:]
        var keyOrder: [String] = []
        for (i, item) in named.enumerated() {
            let key = vm.storages[vm.tensors[item.tensor].storage].key
            if byStorage[key] == nil { keyOrder.append(key) }
            byStorage[key, default: []].append(i)
        }
        var stored = 0, produced = 0
        var out = [Tensor?](repeating: nil, count: named.count)
        for key in keyOrder {
            let positions = byStorage[key]!
            guard let entry = byName[prefix + "data/" + key] else {
                throw fail("storage \(key) has no entry data/\(key) in the archive")
            }
            // Check every view against this entry before inflating it or allocating anything.
            var counts: [Int] = []
            for p in positions {
                let t = vm.tensors[named[p].tensor]
                let s = vm.storages[t.storage]
                let (bytes, overflow) = Int(clamping: s.count).multipliedReportingOverflow(by: s.kind.itemSize)
                guard s.count >= 0, !overflow, s.count <= Int.max else {
                    throw fail("storage \(key) of \(s.count) elements of \(s.kind.itemSize) bytes cannot exist")
                }
                guard bytes == entry.uncompressedSize else {
                    throw fail("storage \(key) needs \(bytes) bytes but data/\(key) has \(entry.uncompressedSize) (\(s.count) x \(s.kind.rawValue))")
                }
                let count = try checkView(t, storageCount: Int(s.count)) { fail("tensor \(named[p].name): \($0)") }
                counts.append(count)
                produced = produced.addingReportingOverflow(count).partialValue
            }
            stored += entry.uncompressedSize
            guard produced <= 8 * stored + expansionAllowance else {
                throw fail("the tensors would hold \(produced) elements from \(stored) stored bytes, more than 8 times as many "
                           + "plus \(expansionAllowance); expanded views that large are refused")
            }
            try ZipArchive.withContents(of: entry, in: raw, file: "") { data in
                for (p, count) in zip(positions, counts) {
                    let t = vm.tensors[named[p].tensor]
                    out[p] = copy(t, count: count, from: data, kind: vm.storages[t.storage].kind, bigEndian: bigEndian)
                }
            }
        }
        return named.enumerated().map { (name: $1.name, tensor: out[$0]!) }
    }

    /// The tensors reachable from `root` with their dotted names, in order (see the type's documentation).
    static func flatten(_ root: PickleValue, _ vm: Unpickler, fail: (String) -> PyTorchCheckpointError) throws -> [(name: String, tensor: Int)] {
        var start = root
        if case .dict(let d) = root, let sd = vm.dicts[d].first(where: { if case .string("state_dict") = $0.key { return true } else { return false } }),
           case .dict = sd.value {
            start = sd.value
        }
        var result: [(name: String, tensor: Int)] = []
        var seen: Set<String> = []
        var visits = 0
        func key(_ v: PickleValue) -> String {
            switch v {
            case .string(let s): return s
            case .int(let n): return String(n)
            case .bool(let b): return b ? "True" : "False"
            case .float(let x): return String(x)
            case .none: return "None"
            default: return "<\(v.kindName)>"
            }
        }
        func walk(_ v: PickleValue, _ name: String, depth: Int) throws {
            guard depth <= maxDepth else {
                throw fail("containers nested more than \(maxDepth) levels deep at \(name.prefix(80))... (or a container holds itself)")
            }
            func child(_ k: String) -> String { name.isEmpty ? k : name + "." + k }
            func children(_ items: [(String, PickleValue)]) throws {
                for (k, item) in items {
                    visits += 1
                    guard visits <= maxEntries else { throw fail("more than \(maxEntries) entries in the containers (shared many times over?)") }
                    try walk(item, child(k), depth: depth + 1)
                }
            }
            switch v {
            case .tensor(let t):
                let n = name.isEmpty ? "tensor" : name
                guard seen.insert(n).inserted else { throw fail("two tensors are named \(n)") }
                result.append((n, t))
            case .dict(let d): try children(vm.dicts[d].map { (key($0.key), $0.value) })
            case .list(let l): try children(vm.lists[l].enumerated().map { (String($0), $1) })
            case .tuple(let t): try children(vm.tuples[t].enumerated().map { (String($0), $1) })
            default: break   // numbers, strings, None: an epoch, a learning rate, a name
            }
        }
        try walk(start, "", depth: 0)
        return result
    }
}
