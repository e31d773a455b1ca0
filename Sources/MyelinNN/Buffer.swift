/// Non-trained state a module keeps with its parameters (BatchNorm's running mean and variance):
/// saved and loaded with the weights, never touched by optimisers.
public final class Buffer {
    public var value: Tensor

    public init(_ value: Tensor) {
        self.value = value.detached()
    }
}
