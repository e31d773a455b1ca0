import Foundation
import Myelin
import Synchronization
import Testing

/// A user-written backend for a toy device, "counting": its memory is host memory, like the CPU's,
/// but ops on its tensors run only through the kernels it registers (add, mul, relu, matmul and
/// the Adam update), and each run is counted. Written with public API only.
final class CountingBackend: Backend {
    static let shared = CountingBackend()
    static let device = Device("counting")
    /// Registers the backend once for the whole test process.
    static let registered: Void = Backends.register(shared)

    private let runs = Mutex<[String: Int]>([:])

    var device: Device { Self.device }

    /// How many times the kernel or update of this name ran.
    func runs(of name: String) -> Int { runs.withLock { $0[name] ?? 0 } }

    private func count(_ name: String) { runs.withLock { $0[name, default: 0] += 1 } }

    func kernel(for primitiveName: String) -> BackendKernel? {
        switch primitiveName {
        case "add": elementwise("add") { $0 + $1 }
        case "mul": elementwise("mul") { $0 * $1 }
        case "relu": elementwise("relu") { a, _ in a > 0 ? a : 0 }
        case "matmul":
            // The CPU's own product on host copies, so the bits are the CPU's.
            { [self] primitive, x in
                count("matmul")
                return x[0].to(device: .cpu).matmul(x[1].to(device: .cpu)).to(device: device)
            }
        default: nil
        }
    }

    /// A float32 loop over the elements of one or two inputs of one shape, written into a tensor of this device.
    private func elementwise(_ name: String, _ f: @escaping @Sendable (Float, Float) -> Float) -> BackendKernel {
        { [self] _, x in
            count(name)
            let a = x[0], b = x.count > 1 ? x[1] : x[0]
            precondition(a.dtype == .float32 && a.shape == b.shape, "[\(name)] the counting device takes float32 operands of one shape")
            var out = Tensor.zeros(a.shape).to(device: device)
            a.withUnsafeBufferPointer(as: Float.self) { pa in
                b.withUnsafeBufferPointer(as: Float.self) { pb in
                    out.withUnsafeMutableBufferPointer(as: Float.self) { po in
                        for i in po.indices { po[i] = f(pa[i], pb[i]) }
                    }
                }
            }
            return out
        }
    }

    /// The CPU's fused Adam on host copies, the results written back in place, so the parameter
    /// keeps its autograd identity and its device.
    func adamUpdate(
        _ parameter: inout Tensor, gradient: Tensor, expAvg: inout Tensor, expAvgSq: inout Tensor,
        maxExpAvgSq: inout Tensor?, step: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double, decoupledWeightDecay: Bool, maximize: Bool
    ) {
        count("adamUpdate")
        var p = parameter.to(device: .cpu), m = expAvg.to(device: .cpu), v = expAvgSq.to(device: .cpu)
        var vmax = maxExpAvgSq?.to(device: .cpu)
        CPUBackend().adamUpdate(&p, gradient: gradient.to(device: .cpu), expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax,
                                step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                                decoupledWeightDecay: decoupledWeightDecay, maximize: maximize)
        p.withUnsafeBufferPointer(as: Float.self) { src in
            parameter.withUnsafeMutableBufferPointer(as: Float.self) { dst in _ = dst.update(fromContentsOf: src) }
        }
        expAvg = m.to(device: device)
        expAvgSq = v.to(device: device)
        maxExpAvgSq = vmax?.to(device: device)
    }
}

/// The backend boundary, proved from outside the library with the counting device. Serialized:
/// the tests read the backend's shared counters.
@Suite(.serialized) struct DeviceBackendTests {
    let counting = CountingBackend.device
    let backend = CountingBackend.shared

    init() { _ = CountingBackend.registered }

    @Test func tensorsStartOnTheCPUAndMoveByCopy() {
        let x = Tensor([[1.0, -2.0], [3.0, 4.0]])
        #expect(x.device == .cpu)
        #expect(x.backend is CPUBackend)
        let y = x.to(device: counting)
        #expect(y.device == counting && y.device.name == "counting")
        #expect(y.backend is CountingBackend)
        #expect(y.shape == [2, 2] && y.dtype == .float32)
        #expect(y.description == x.description.dropLast() + ", device: counting)")
        #expect(x.description.hasSuffix("dtype: float32)"))
        #expect(x.device == .cpu, "to(device:) copies; the source stays where it was")
        #expect(Backends.backend(for: counting)?.device == counting)
        #expect(Backends.backend(for: Device("nowhere")) == nil)
    }

    /// Bits survive the trip there and back, also NaN payloads, -0, infinities and subnormals,
    /// and a non-contiguous source arrives contiguous with its values in row-major order.
    @Test func toDeviceRoundTripsBits() {
        let patterns: [UInt32] = [0x7FC0_1234, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x0000_0001, 0x3F80_0000]
        let x = Tensor(shape: [2, 3], scalars: patterns.map { Float(bitPattern: $0) })
        let there = x.to(device: counting)
        let back = there.to(device: .cpu)
        #expect(back.device == .cpu)
        #expect(back.scalars(as: Float.self).map(\.bitPattern) == patterns)
        #expect(there.scalars(as: Float.self).map(\.bitPattern) == patterns)
        let t = x.transposed().to(device: counting)
        #expect(t.shape == [3, 2])
        #expect(t.to(device: .cpu).scalars(as: Float.self).map(\.bitPattern)
                == [0, 3, 1, 4, 2, 5].map { patterns[$0] })
        let d = Tensor(shape: [3], scalars: [1.5, -0.0, Double.leastNormalMagnitude / 4]).to(device: counting).to(device: .cpu)
        #expect(d.scalars(as: Double.self).map(\.bitPattern) == [1.5, -0.0, Double.leastNormalMagnitude / 4].map(\.bitPattern))
    }

    /// A graph traced on the CPU replays on counting tensors through the device's kernels, unfused
    /// and fused (a fused chain runs its steps one by one on the device), with the CPU's bits.
    @Test func graphReplaysRunOnTheDeviceKernels() {
        let x = Tensor([[0.5, -1.25, 3.0], [2.0, -0.75, 8.0]]), w = Tensor([[1.5, 4.0, -2.5], [0.25, 3.0, -1.0]])
        let graph = Graph.trace(inputs: [x, w]) { xs in [relu(xs[0] * xs[1] + xs[0])] }
        let expected = relu(x * w + x).floats
        for g in [graph, graph.fused()] {
            let before = ["add", "mul", "relu"].map { backend.runs(of: $0) }
            let y = g([x.to(device: counting), w.to(device: counting)])[0]
            let after = ["add", "mul", "relu"].map { backend.runs(of: $0) }
            #expect(zip(after, before).map { $0 - $1 } == [1, 1, 1])
            #expect(y.device == counting)
            #expect(y.floats == expected)
        }
    }

    /// add, mul, relu and matmul on counting tensors run the backend's kernels, once each, give
    /// tensors of that device, and equal the CPU's results exactly.
    @Test func opsDispatchToTheDeviceKernels() {
        let a = Tensor([[0.5, -1.25, 3.0], [2.0, -0.75, 8.0]]), b = Tensor([[1.5, 4.0, -2.5], [0.25, 3.0, -1.0]])
        let (da, db) = (a.to(device: counting), b.to(device: counting))
        let before = ["add", "mul", "relu", "matmul"].map { backend.runs(of: $0) }
        let sum = da + db, product = da * db, rectified = relu(da), mm = da.matmul(db.transposed())
        let after = ["add", "mul", "relu", "matmul"].map { backend.runs(of: $0) }
        #expect(zip(after, before).map { $0 - $1 } == [1, 1, 1, 1])
        for t in [sum, product, rectified, mm] { #expect(t.device == counting) }
        #expect(sum.floats == (a + b).floats)
        #expect(product.floats == (a * b).floats)
        #expect(rectified.floats == relu(a).floats)
        #expect(mm.shape == [2, 2] && mm.floats == a.matmul(b.transposed()).floats)
        #expect(a.matmul(b.transposed()).floats == [-11.75, -6.625, -20, -9.75], "the CPU's own product, for scale")
    }

    /// Autograd needs nothing of the backend but the kernels of the vjps: the gradient of a
    /// product on the device is a product on the device, and views need no kernel while recorded.
    @Test func gradientsFlowOnTheDevice() {
        let a = Tensor([[0.5, -1.5, 2.0], [4.0, 0.25, -3.0]]), b = Tensor([[2.0, 3.0, -0.5], [1.0, -8.0, 0.75]])
        let w = a.to(device: counting).requiringGrad(), v = b.to(device: counting)
        let before = backend.runs(of: "mul")
        let y = (w * v).reshape([3, 2]).transposed()
        #expect(y.device == counting && y.gradFunctionName == "permute")
        y.backward(gradient: Tensor.ones([2, 3]).to(device: counting))
        #expect(backend.runs(of: "mul") - before == 2, "the forward product and the vjp's g * v")
        #expect(w.grad?.device == counting)
        #expect(w.grad?.floats == b.floats, "d(sum of w * v)/dw is v")
    }

    /// A primitive the backend lacks fails with the op and the device; so does a device nobody registered.
    @Test func missingKernelsFailClearly() {
        #expect(backend.canRun("add") && backend.canRun("matmul"))
        #expect(!backend.canRun("sum") && !backend.canRun("exp"))
        #expect(CPUBackend().canRun("sum"))
        #expect(throws: BackendError.noKernel(op: "sum", device: counting)) { try Backends.kernel(for: "sum", on: counting) }
        #expect(BackendError.noKernel(op: "sum", device: counting).description
                == "[sum] the tensor is on counting, whose backend has no kernel for sum")
        #expect(throws: BackendError.noBackend(op: "add", device: Device("nowhere"))) {
            try Backends.kernel(for: "add", on: Device("nowhere"))
        }
        #expect(BackendError.noBackend(op: "add", device: Device("nowhere")).description
                == "[add] no backend is registered for device nowhere")
    }

    /// Running what the backend lacks traps with the op and the device: a primitive (`sum`) and an
    /// update (`sgdUpdate`), each in a child process.
    @Test func missingKernelsTrapWithTheOpAndTheDevice() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CountingBackend.registered
            _ = Tensor([1.0, 2.0]).to(device: CountingBackend.device).sum()
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[sum] the tensor is on counting, whose backend has no kernel for sum"), "\(err)")
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CountingBackend.registered
            let p = Parameter(Tensor([1.0, 2.0]).to(device: CountingBackend.device))
            p.grad = Tensor([0.5, 0.5]).to(device: CountingBackend.device)
            SGD(parameters: [p], lr: 0.1).step()
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[sgdUpdate] the tensor is on counting, whose backend has no kernel for sgdUpdate"), "\(err)")
        }
    }

    /// An Adam step of a parameter on the counting device goes through the backend's update (once
    /// per step), keeps the parameter there with its identity, and equals the CPU's step bit for bit.
    @Test func adamStepRunsOnTheBackend() {
        let start = Tensor([0.5, -1.0, 2.0, 0.25]), gradients = [Tensor([0.1, -0.2, 0.3, 0.0]), Tensor([-0.4, 0.5, 0.05, 1.0])]
        let onDevice = Parameter(start.to(device: counting)), onCPU = Parameter(start)
        let deviceAdam = Adam(parameters: [onDevice], lr: 0.01), cpuAdam = Adam(parameters: [onCPU], lr: 0.01)
        let before = backend.runs(of: "adamUpdate")
        for g in gradients {
            onDevice.grad = g.to(device: counting)
            onCPU.grad = g
            deviceAdam.step()
            cpuAdam.step()
        }
        #expect(backend.runs(of: "adamUpdate") - before == 2)
        #expect(onDevice.value.device == counting && onDevice.value.requiresGrad)
        #expect(onDevice.value.to(device: .cpu).scalars(as: Float.self).map(\.bitPattern)
                == onCPU.value.scalars(as: Float.self).map(\.bitPattern))
        #expect(onDevice.value.floats != start.floats, "the step moved the weights")
        let state = deviceAdam.stateDict()
        #expect(state.tensors["state.0.exp_avg"]?.device == counting)
        #expect(state.tensors["state.0.exp_avg"]?.floats == cpuAdam.stateDict().tensors["state.0.exp_avg"]?.floats)
    }
}
