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
        var total = 0
        func add(_ factors: [Int], plus extra: Int) -> Bool {
            var product = 1
            for f in factors {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                if overflow { return false }
                product = p
            }
            let (sum, o1) = total.addingReportingOverflow(product)
            let (sum2, o2) = sum.addingReportingOverflow(extra)
            if o1 || o2 { return false }
            total = sum2
            return true
        }
        func elements(_ s: [Int]) -> Int? {
            var product = 1
            for f in s {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                if overflow { return nil }
                product = p
            }
            return product
        }
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .dense(let units):
                guard let inputs = elements(shape), add([inputs, units], plus: units) else { return nil }
            case .conv(let filters, let kernel, _):
                guard add([filters, shape[0], kernel, kernel], plus: filters) else { return nil }
            case .batchNorm:
                guard add([2, shape[0]], plus: 0) else { return nil }
            default:
                break
            }
            shape = shapes[i]
        }
        guard let inputs = elements(shape), add([inputs, outputs], plus: outputs) else { return nil }
        return total
    }

    /// Floats one example's activations take through the network (every layer's output, which
    /// backward keeps), or nil on overflow.
    public func activationCount() throws -> Int? {
        var total = 0
        for shape in try shapes() {
            var product = 1
            for f in shape {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                if overflow { return nil }
                product = p
            }
            let (sum, overflow) = total.addingReportingOverflow(product)
            if overflow { return nil }
            total = sum
        }
        return total
    }

    /// Throws when the network would not fit the budgets: more than `maxParameters` parameters,
    /// or more than `maxActivations` floats of activations in one batch of `batchSize`.
    public func checkBudget(maxParameters: Int, maxActivations: Int, batchSize: Int) throws {
        guard let parameters = try parameterCount(), parameters <= maxParameters else {
            let count = (try? parameterCount()).flatMap { $0 }.map { $0.grouped } ?? "more than 9.2e18"
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

