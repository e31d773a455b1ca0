import Foundation

/// Why a state dict does not fit a model: every missing key, unexpected key and shape mismatch.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    public let missing: [String]
    public let unexpected: [String]
    public let shapeMismatches: [(name: String, expected: [Int], got: [Int])]

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.joined(separator: ", "))") }
        if !shapeMismatches.isEmpty {
            parts.append("shape mismatch " + shapeMismatches.map { "\($0.name) (model \($0.expected), file \($0.got))" }.joined(separator: ", "))
        }
        return "[load] the weights do not fit the model: " + parts.joined(separator: "; ")
    }
}

/// What a non-strict load skipped.
public struct StateDictLoadReport: Sendable {
    public let missing: [String]
    public let unexpected: [String]
    public let shapeMismatches: [String]
    public var isComplete: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }
}

extension Module {
    /// Parameters and buffers by PyTorch-style names: dotted paths with snake_case property names
    /// (`encoder.0.weight`, `bn.running_mean`), so files interoperate with `model.state_dict()`.
    public func stateDict() -> [String: Tensor] {
        var dict: [String: Tensor] = [:]
        for (name, p) in namedParameters() { dict[Module.stateName(name)] = p.value.detached() }
        for (name, b) in namedBuffers() { dict[Module.stateName(name)] = b.value.detached() }
        return dict
    }

    /// Copies values from `dict` into the parameters and buffers. Strict (the default) throws a
    /// `StateDictError` listing every missing key, unexpected key and shape mismatch, changing
    /// nothing; non-strict loads what fits and reports the rest. Values are converted to each
    /// parameter's dtype.
    @discardableResult
    public func loadStateDict(_ dict: [String: Tensor], strict: Bool = true) throws -> StateDictLoadReport {
        var targets: [String: (shape: [Int], set: (Tensor) -> Void)] = [:]
        for (name, p) in namedParameters() {
            targets[Module.stateName(name)] = (p.shape, { p.assign($0.to(p.dtype)) })
        }
        for (name, b) in namedBuffers() {
            targets[Module.stateName(name)] = (b.value.shape, { b.value = $0.to(b.value.dtype).contiguousCopy() })
        }
        let missing = targets.keys.filter { dict[$0] == nil }.sorted()
        let unexpected = dict.keys.filter { targets[$0] == nil }.sorted()
        let mismatched = targets.compactMap { name, t -> (String, [Int], [Int])? in
            guard let v = dict[name], v.shape != t.shape else { return nil }
            return (name, t.shape, v.shape)
        }.sorted { $0.0 < $1.0 }
        if strict && !(missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty) {
            throw StateDictError(missing: missing, unexpected: unexpected,
                                 shapeMismatches: mismatched.map { (name: $0.0, expected: $0.1, got: $0.2) })
        }
        for (name, t) in targets {
            if let v = dict[name], v.shape == t.shape { t.set(v) }
        }
        return StateDictLoadReport(missing: missing, unexpected: unexpected, shapeMismatches: mismatched.map(\.0))
    }

    /// Saves the weights and buffers as `.safetensors` (atomically), with a CRC-32 of the tensors
    /// and metadata under `myelin.crc32` in the metadata (see `Safetensors`), which `load(from:)`
    /// checks; PyTorch's safetensors loads the file as any other.
    ///
    /// ```swift
    /// try model.save(to: "mnist.safetensors")
    /// ```
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try Safetensors.save(stateDict(), to: path, metadata: metadata)
    }

    /// Loads weights and buffers from a `.safetensors` file (Myelin's or PyTorch's), or from a
    /// PyTorch checkpoint when the name ends in `.pt` or `.pth` (read by `PyTorchCheckpoint`, which
    /// runs nothing in the file), strictly by default. A file with Myelin's checksum whose contents
    /// do not match it throws `SafetensorsError` (`... checksum mismatch: stored ..., computed ...;
    /// the file is corrupt`) and changes nothing.
    ///
    /// ```swift
    /// try model.load(from: "mnist.safetensors")
    /// try model.load(from: "resnet.pt")   // torch.save(model.state_dict(), "resnet.pt")
    /// ```
    @discardableResult
    public func load(from path: String, strict: Bool = true) throws -> StateDictLoadReport {
        let lowercased = path.lowercased()
        if lowercased.hasSuffix(".pt") || lowercased.hasSuffix(".pth") {
            let tensors = try PyTorchCheckpoint.load(path)
            return try loadStateDict(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }), strict: strict)
        }
        return try loadStateDict(Safetensors.load(path).tensors, strict: strict)
    }

    /// `runningMean` → `running_mean`, per path component. A component that starts with a capital
    /// is a name given as is (Hugging Face's `LayerNorm`, by a `namedChildren` override) and kept.
    static func stateName(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { part -> String in
            if part.first?.isUppercase == true { return String(part) }
            var out = ""
            for ch in part {
                if ch.isUppercase {
                    out += "_" + ch.lowercased()
                } else {
                    out.append(ch)
                }
            }
            return out
        }.joined(separator: ".")
    }
}
