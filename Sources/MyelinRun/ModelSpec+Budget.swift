import MyelinCore

extension ModelSpec {
    /// The parameters the built network will have (weights, biases, batch-norm scales), or nil
    /// when the count does not fit in an `Int`.
    ///
    /// ```swift
    /// try ModelSpec.mlp(input: [4], outputs: 3, hidden: [16]).parameterCount()   // 4*16+16 + 16*3+3 = 131
    /// ```
    public func parameterCount() throws -> Int? {
        let shapes = try self.shapes()
        var shape = inputShape
        var total: Int? = 0
        func add(_ factors: [Int], plus extra: Int) {
            total = total.flatMap { t in Self.product(factors).flatMap { Self.sum([t, $0, extra]) } }
        }
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .dense(let units): add(shape + [units], plus: units)
            case .conv(let filters, let kernel, _): add([filters, shape[0], kernel, kernel], plus: filters)
            case .batchNorm: add([2, shape[0]], plus: 0)
            default: break
            }
            shape = shapes[i]
        }
        add(shape + [outputs], plus: outputs)
        return total
    }

    /// Floats one example's activations take through the network (every layer's output, which
    /// backward keeps), or nil on overflow.
    public func activationCount() throws -> Int? {
        let sizes = try shapes().map(Self.product)
        return sizes.contains(where: { $0 == nil }) ? nil : Self.sum(sizes.map { $0! })
    }

    /// The product of `factors`, or nil when it overflows an `Int`.
    static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for f in factors {
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// The sum of `terms`, or nil when it overflows an `Int`.
    static func sum(_ terms: [Int]) -> Int? {
        var result = 0
        for t in terms {
            let (s, overflow) = result.addingReportingOverflow(t)
            if overflow { return nil }
            result = s
        }
        return result
    }

    /// Throws when the network would not fit the budgets: more than `maxParameters` parameters,
    /// or more than `maxActivations` floats of activations in one batch of `batchSize`.
    public func checkBudget(maxParameters: Int, maxActivations: Int, batchSize: Int) throws {
        let parameters = try parameterCount()
        guard let parameters, parameters <= maxParameters else {
            let count = parameters?.grouped ?? "more than 9.2e18"
            throw ModelSpecError("the network would have \(count) parameters, above the limit of \(maxParameters.grouped) "
                                 + "(--max-parameters); use smaller layers")
        }
        let perExample = try activationCount() ?? Int.max
        let (perBatch, overflow) = perExample.multipliedReportingOverflow(by: max(batchSize, 1))
        guard !overflow, perBatch <= maxActivations else {
            throw ModelSpecError("one batch of \(batchSize) would need \(overflow ? "more than 9.2e18" : perBatch.grouped) "
                                 + "floats of activations, above the limit of \(maxActivations.grouped); "
                                 + "use a smaller --batch-size or smaller layers")
        }
    }
}

