import ArgumentParser
import Myelin

/// A short tour of tensor operations: what `make demo` shows until training lands.
struct Tour: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a short tour of Myelin's tensors.")

    func run() {
        func show(_ title: String, _ t: @autoclosure () -> Tensor) {
            print("» \(title)")
            print(t())
            print()
        }
        Random.seed(0)
        let x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        show("x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])", x)
        show("x * 2 + 1", x * 2 + 1)
        show("x + Tensor([10.0, 20.0, 30.0])   (broadcasting)", x + Tensor([10.0, 20.0, 30.0]))
        show("x.T   (a view: no copy)", x.T)
        show("x[.all, 1...]", x[.all, 1...])
        show("x.sum(axes: [0])", x.sum(axes: [0]))
        show("x.mean(axis: 1, keepDims: true)", x.mean(axis: 1, keepDims: true))
        show("x.matmul(x.T)   (BLAS)", x.matmul(x.T))
        show("x.exp().log()", x.exp().log())
        show("x.softmax-like: (x - x.logsumexp(axis: 1, keepDims: true)).exp()",
             (x - x.logsumexp(axis: 1, keepDims: true)).exp())
        show("x .> 2.5", x .> 2.5)
        show("x.argmax(axis: 1)", x.argmax(axis: 1))
        show("Tensor.normal([2, 4])   (Random.seed(0))", Tensor.normal([2, 4]))
        let big = Tensor.randn([1000, 1000])
        show("Tensor.randn([1000, 1000])   (summarised)", big)
        show("big.mean(), big.std()", Tensor.stack2(big.mean(), big.std()))
    }
}

extension Tensor {
    /// Two 0-d tensors side by side, for printing.
    fileprivate static func stack2(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(shape: [2], scalars: [Float(a.item()), Float(b.item())])
    }
}
