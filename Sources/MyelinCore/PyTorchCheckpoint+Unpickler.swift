// The restricted pickle VM of `PyTorchCheckpoint`, the counterpart of `torch.load(weights_only=True)`.
// It runs the opcodes torch.save emits (protocol 2, and the protocol 4 framing) and builds plain
// values; a GLOBAL names a function or class, and only the allow-list below may be named at all, so
// nothing in the file is ever looked up or called. Containers live in arrays and refer to each other
// by index: deep or cyclic structures never recurse in Swift, neither while built nor while freed.

/// A value on the unpickler's stack.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    /// Bytes objects keep only their length: no checkpoint tensor is built from them.
    case bytes(Int)
    /// Indices into `Unpickler.tuples`, `.lists`, `.dicts`.
    case tuple(Int), list(Int), dict(Int)
    case global(PickleGlobal)
    /// Indices into `Unpickler.storages` and `.tensors`.
    case storage(Int), tensor(Int)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g.name
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// The globals a checkpoint may name: what `torch.save(model.state_dict())` writes.
enum PickleGlobal: Equatable {
    case orderedDict, rebuildTensor, rebuildParameter, rebuildParameterWithState, size
    case storageType(PyTorchStorageKind)

    var name: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensor: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .size: return "torch.Size"
        case .storageType(let kind): return "torch.\(kind.rawValue)"
        }
    }

    static let callables: [PickleGlobal] = [.orderedDict, .rebuildTensor, .rebuildParameter, .rebuildParameterWithState, .size]

    /// The allowed global `module.name`, or nil.
    static func named(module: String, name: String) -> PickleGlobal? {
        let full = module + "." + name
        if let g = callables.first(where: { $0.name == full }) { return g }
        if module == "torch", let kind = PyTorchStorageKind(rawValue: name) { return .storageType(kind) }
        return nil
    }
}

/// A storage as a persistent id names it: `("storage", torch.FloatStorage, "0", "cpu", 6)`.
struct PickleStorage {
    let key: String
    let kind: PyTorchStorageKind
    /// Elements of `kind` the storage holds, as the file claims (checked against its data entry).
    let count: Int64
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: a view of a storage, unchecked yet.
struct PickleTensor {
    let storage: Int
    let offset: Int64
    let shape: [Int64]
    let strides: [Int64]
}

/// Runs a pickle from `data.pkl`; `fail` turns a reason into the caller's error.
struct Unpickler {
    static let maxMarks = 10_000
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20

    let bytes: UnsafeRawBufferPointer
    let fail: (String) -> Error
    private var pos = 0
    private var opStart = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private(set) var tuples: [[PickleValue]] = []
    private(set) var lists: [[PickleValue]] = []
    private(set) var dicts: [[(key: PickleValue, value: PickleValue)]] = []
    private(set) var storages: [PickleStorage] = []
    private(set) var tensors: [PickleTensor] = []

    init(_ bytes: UnsafeRawBufferPointer, fail: @escaping (String) -> Error) {
        self.bytes = bytes
        self.fail = fail
    }

    private func error(_ reason: String) -> Error { fail("data.pkl byte \(opStart): \(reason)") }

    // MARK: Reading the stream

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw error("pickle ends at byte \(bytes.count) inside an opcode that needs \(n) more bytes (truncated)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    private mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try take(MemoryLayout<T>.size)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    /// A length field, checked against what is left of the stream before anything is allocated.
    private mutating func length<T: FixedWidthInteger>(_: T.Type) throws -> Int {
        let n = try read(T.self)
        guard n >= 0, let count = Int(exactly: n), count <= bytes.count - pos else {
            throw error("a length of \(n) bytes runs past the end of the \(bytes.count)-byte pickle")
        }
        return count
    }

    private mutating func line() throws -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A) else { throw error("pickle ends inside a text line (truncated)") }
        defer { pos = end + 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
    }

    // MARK: The stack

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw error("the stack holds more than \(Self.maxStack) values") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        if let mark = marks.last, stack.count <= mark { throw error("opcode needs a value but the stack is empty above the MARK") }
        guard let v = stack.popLast() else { throw error("opcode needs a value but the stack is empty") }
        return v
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw error("opcode needs a MARK but there is none on the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func top() throws -> PickleValue {
        if let mark = marks.last, stack.count <= mark { throw error("opcode needs a value but the stack is empty above the MARK") }
        guard let v = stack.last else { throw error("opcode needs a value but the stack is empty") }
        return v
    }

    private mutating func put(_ index: Int) throws {
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw error("the memo holds more than \(Self.maxMemo) values") }
        memo[index] = try top()
    }

    private mutating func get(_ index: Int) throws {
        guard let v = memo[index] else { throw error("memo slot \(index) is empty") }
        try push(v)
    }

    private mutating func newTuple(_ items: [PickleValue]) -> PickleValue {
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    private mutating func newDict(_ pairs: [(key: PickleValue, value: PickleValue)] = []) -> PickleValue {
        dicts.append(pairs)
        return .dict(dicts.count - 1)
    }

    // MARK: Running

    /// Runs the pickle to its STOP and returns the object it built.
    mutating func run() throws -> PickleValue {
        while true {
            opStart = pos
            let op = try read(UInt8.self)
            switch op {
            case 0x80:   // PROTO
                let v = try read(UInt8.self)
                guard v <= 5 else { throw error("pickle protocol \(v) is not supported (at most 5)") }
            case 0x95:   // FRAME: a length hint only
                _ = try read(UInt64.self)
            case 0x2E:   // STOP
                let result = try pop()
                return result
            case 0x28:   // MARK
                guard marks.count < Self.maxMarks else { throw error("more than \(Self.maxMarks) open MARKs") }
                marks.append(stack.count)
            case 0x30:   // POP
                if let mark = marks.last, mark == stack.count { marks.removeLast() } else { _ = try pop() }
            case 0x31:   // POP_MARK
                _ = try popToMark()
            case 0x32:   // DUP
                try push(try top())
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int64(try read(Int32.self))))       // BININT
            case 0x4B: try push(.int(Int64(try read(UInt8.self))))       // BININT1
            case 0x4D: try push(.int(Int64(try read(UInt16.self))))      // BININT2
            case 0x8A: try push(.int(try long(try length(UInt8.self))))  // LONG1
            case 0x8B: try push(.int(try long(try length(Int32.self))))  // LONG4
            case 0x49, 0x4C:                                              // INT, LONG (text)
                var text = try line()
                if text.hasSuffix("L") { text.removeLast() }
                if op == 0x49 && (text == "00" || text == "01") {
                    try push(.bool(text == "01"))
                } else {
                    guard let v = Int64(text) else { throw error("integer \"\(text.prefix(40))\" is not a 64-bit integer") }
                    try push(.int(v))
                }
            case 0x47:   // BINFLOAT, big-endian
                let raw = try take(8)
                try push(.float(Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)))))
            case 0x46:   // FLOAT (text)
                let text = try line()
                guard let v = Double(text) else { throw error("float \"\(text.prefix(40))\" is not a number") }
                try push(.float(v))
            case 0x58: try push(.string(try text(try length(UInt32.self))))   // BINUNICODE
            case 0x8C: try push(.string(try text(try length(UInt8.self))))    // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(try length(UInt64.self))))   // BINUNICODE8
            case 0x54: try push(.string(try text(try length(Int32.self))))    // BINSTRING
            case 0x55: try push(.string(try text(try length(UInt8.self))))    // SHORT_BINSTRING
            case 0x42: let n = try length(UInt32.self); _ = try take(n); try push(.bytes(n))   // BINBYTES
            case 0x43: let n = try length(UInt8.self); _ = try take(n); try push(.bytes(n))    // SHORT_BINBYTES
            case 0x8E, 0x96: let n = try length(UInt64.self); _ = try take(n); try push(.bytes(n))  // BINBYTES8, BYTEARRAY8
            case 0x29: try push(newTuple([]))                              // EMPTY_TUPLE
            case 0x74: try push(newTuple(try popToMark()))                 // TUPLE
            case 0x85, 0x86, 0x87:                                         // TUPLE1-3
                var items: [PickleValue] = []
                for _ in 0..<Int(op - 0x84) { items.append(try pop()) }
                try push(newTuple(items.reversed()))
            case 0x5D:                                                     // EMPTY_LIST
                lists.append([])
                try push(.list(lists.count - 1))
            case 0x6C:                                                     // LIST
                lists.append(try popToMark())
                try push(.list(lists.count - 1))
            case 0x7D: try push(newDict())                                 // EMPTY_DICT
            case 0x64: try push(newDict(try pairs(try popToMark())))       // DICT
            case 0x61:                                                     // APPEND
                let v = try pop()
                try append([v], to: try top())
            case 0x65:                                                     // APPENDS
                let items = try popToMark()
                try append(items, to: try top())
            case 0x73:                                                     // SETITEM
                let v = try pop(), k = try pop()
                try setItems([(k, v)], in: try top())
            case 0x75:                                                     // SETITEMS
                let items = try pairs(try popToMark())
                try setItems(items, in: try top())
            case 0x71: try put(Int(try read(UInt8.self)))                  // BINPUT
            case 0x72: try put(Int(try read(UInt32.self)))                 // LONG_BINPUT
            case 0x94: try put(memo.count)                                 // MEMOIZE
            case 0x70: try put(try textIndex())                            // PUT
            case 0x68: try get(Int(try read(UInt8.self)))                  // BINGET
            case 0x6A: try get(Int(try read(UInt32.self)))                 // LONG_BINGET
            case 0x67: try get(try textIndex())                            // GET
            case 0x63:                                                     // GLOBAL
                let module = try line(), name = try line()
                try push(.global(try resolve(module: module, name: name)))
            case 0x93:                                                     // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw error("STACK_GLOBAL needs two strings, got \(module.kindName) and \(name.kindName)")
                }
                try push(.global(try resolve(module: m, name: n)))
            case 0x69:                                                     // INST: names a class to instantiate
                let module = try line(), name = try line()
                let g = try resolve(module: module, name: name)
                throw error("INST of \(g.name) is not allowed")
            case 0x52:                                                     // REDUCE
                let args = try pop(), callable = try pop()
                try push(try call(callable, args))
            case 0x81, 0x92:                                               // NEWOBJ, NEWOBJ_EX
                if op == 0x92 { _ = try pop() }
                _ = try pop()
                let cls = try pop()
                // Only OrderedDict.__new__ is harmless: an empty dict, filled by SETITEMS.
                guard case .global(.orderedDict) = cls else { throw error("NEWOBJ of \(cls.kindName) is not allowed") }
                try push(newDict())
            case 0x62:                                                     // BUILD
                let state = try pop()
                let target = try top()
                // OrderedDict's state is its `_metadata` (module versions), which Myelin does not need.
                guard case .dict = target else { throw error("BUILD on a \(target.kindName) is not allowed") }
                guard case .dict = state else { throw error("BUILD of a dict with a \(state.kindName) state is not allowed") }
            case 0x51:                                                     // BINPERSID
                try push(try persistent(try pop()))
            case 0x50: throw error("PERSID (a text persistent id) is not used by torch.save and is not allowed")
            case 0x6F: throw error("OBJ (instantiating a class) is not allowed")
            case 0x82, 0x83, 0x84: throw error("EXT codes (the copyreg extension registry) are not allowed")
            default:
                throw error("unknown opcode 0x\(String(op, radix: 16)) (\(op >= 0x20 && op < 0x7F ? "'\(Character(UnicodeScalar(op)))'" : "binary"))")
            }
            // The whole stream was read without a STOP: the next `read` reports truncation.
            if pos == bytes.count { opStart = pos; throw error("pickle ends without its STOP opcode (truncated)") }
        }
    }

    private mutating func text(_ n: Int) throws -> String { String(decoding: try take(n), as: UTF8.self) }

    private mutating func textIndex() throws -> Int {
        let text = try line()
        guard let v = Int(text), v >= 0 else { throw error("memo index \"\(text.prefix(40))\" is not a number") }
        return v
    }

    /// A little-endian two's-complement integer of `n` bytes (LONG1/LONG4).
    private mutating func long(_ n: Int) throws -> Int64 {
        guard n <= 8 else { throw error("an integer of \(n) bytes is wider than 64 bits") }
        let raw = try take(n)
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        if n > 0 && n < 8 && raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }   // sign-extend
        return Int64(bitPattern: v)
    }

    private func pairs(_ items: [PickleValue]) throws -> [(key: PickleValue, value: PickleValue)] {
        guard items.count % 2 == 0 else { throw error("SETITEMS/DICT needs key-value pairs, got \(items.count) values") }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    private mutating func append(_ items: [PickleValue], to target: PickleValue) throws {
        guard case .list(let i) = target else { throw error("APPEND to a \(target.kindName) is not allowed") }
        lists[i] += items
    }

    private mutating func setItems(_ items: [(key: PickleValue, value: PickleValue)], in target: PickleValue) throws {
        guard case .dict(let i) = target else { throw error("SETITEM on a \(target.kindName) is not allowed") }
        dicts[i] += items
    }

    private func resolve(module: String, name: String) throws -> PickleGlobal {
        if let g = PickleGlobal.named(module: module, name: name) { return g }
        let full = "\(module).\(name)".prefix(200)
        if module == "torch" && name.hasSuffix("Storage") {
            throw error("storage type \(full) has no Myelin dtype (Myelin reads "
                        + PyTorchStorageKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        // TorchScript archives (torch.jit.save) name their compiled classes under __torch__.
        let hint = module.hasPrefix("__torch__") ? "; this looks like a TorchScript archive: save model.state_dict() with torch.save instead" : ""
        throw error("global \(full) is not allowed; a checkpoint may name only "
                    + (PickleGlobal.callables.map(\.name) + ["torch.<Type>Storage"]).joined(separator: ", ")
                    + " (nothing in the file was run)\(hint)")
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int64] {
        guard case .tuple(let i) = v else { throw error("\(what) is a \(v.kindName), not a tuple of integers") }
        return try tuples[i].map {
            guard case .int(let n) = $0 else { throw error("\(what) holds a \($0.kindName), not an integer") }
            return n
        }
    }

    /// REDUCE: calls an allowed callable on its argument tuple.
    private mutating func call(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else { throw error("REDUCE of a \(callable.kindName) is not allowed") }
        guard case .tuple(let t) = argsValue else { throw error("REDUCE of \(g.name) with a \(argsValue.kindName) for arguments") }
        let args = tuples[t]
        switch g {
        case .orderedDict:
            if args.isEmpty { return newDict() }
            // OrderedDict([(k, v), ...]).
            guard args.count == 1, case .list(let l) = args[0] else { throw error("collections.OrderedDict takes no arguments or a list of pairs") }
            return newDict(try lists[l].map {
                guard case .tuple(let p) = $0, tuples[p].count == 2 else { throw error("collections.OrderedDict needs (key, value) pairs") }
                return (tuples[p][0], tuples[p][1])
            })
        case .rebuildTensor:
            guard args.count == 6 || args.count == 7 else {
                throw error("torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got \(args.count)")
            }
            guard case .storage(let s) = args[0] else { throw error("torch._utils._rebuild_tensor_v2 needs a storage, got a \(args[0].kindName)") }
            guard case .int(let offset) = args[1] else { throw error("storage offset is a \(args[1].kindName), not an integer") }
            let shape = try ints(args[2], "size"), strides = try ints(args[3], "stride")
            guard shape.count == strides.count else { throw error("a tensor has \(shape.count) sizes but \(strides.count) strides") }
            tensors.append(PickleTensor(storage: s, offset: offset, shape: shape, strides: strides))
            return .tensor(tensors.count - 1)
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data.
            guard args.count == (g == .rebuildParameter ? 3 : 4), case .tensor = args[0] else {
                throw error("\(g.name) needs a tensor and \(g == .rebuildParameter ? 2 : 3) more arguments")
            }
            return args[0]
        case .size:
            if args.isEmpty { return newTuple([]) }
            guard args.count == 1 else { throw error("torch.Size takes one tuple of integers") }
            return newTuple(try ints(args[0], "torch.Size").map { .int($0) })
        case .storageType:
            throw error("\(g.name) cannot be called (storages come only from persistent ids)")
        }
    }

    /// BINPERSID: `("storage", torch.FloatStorage, key, location, count)`.
    private mutating func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, tuples[t].count == 5, case .string("storage") = tuples[t][0] else {
            throw error("a persistent id must be (\"storage\", type, key, location, count), got a \(pid.kindName)")
        }
        let items = tuples[t]
        guard case .global(.storageType(let kind)) = items[1] else { throw error("a persistent id names \(items[1].kindName), not a storage type") }
        guard case .string(let key) = items[2], !key.isEmpty, !key.contains("/"), key != ".", key != ".." else {
            throw error("a storage key must be a plain file name, got \(items[2].kindName)")
        }
        guard case .int(let count) = items[4] else { throw error("storage \(key) has a \(items[4].kindName) for its size") }
        storages.append(PickleStorage(key: key, kind: kind, count: count))
        return .storage(storages.count - 1)
    }
}
