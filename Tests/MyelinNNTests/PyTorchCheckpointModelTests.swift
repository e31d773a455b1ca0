import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// A ResNet-style network saved by torch.save(net.state_dict()) loads into the same network built
/// from Myelin layers and gives PyTorch's eval-mode output. Fixtures pytorch_resnet.pt and .json
/// come from MyelinCoreTests/Fixtures/generators/gen_pytorch_checkpoints.py.
@Suite struct PyTorchCheckpointModelTests {
    /// conv-bn-relu-conv-bn, plus the input, then relu (the generator's `Block`).
    final class Block: Module {
        let conv1 = Conv2d(inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, bias: false)
        let bn1 = BatchNorm2d(4)
        let conv2 = Conv2d(inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, bias: false)
        let bn2 = BatchNorm2d(4)
        override func forward(_ x: Tensor) -> Tensor {
            let y = bn1(conv1(x)).relu()
            return (x + bn2(conv2(y))).relu()
        }
    }

    /// The generator's `SmallResNet`, property for property, so the state-dict names match.
    final class SmallResNet: Module {
        let stem = Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, bias: false)
        let bn = BatchNorm2d(4)
        let block = Block()
        let down = Conv2d(inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1)
        let pool = AdaptiveAvgPool2d(outputSize: 1)
        let fc = Linear(8, 3)
        override func forward(_ x: Tensor) -> Tensor {
            let h = down(block(bn(stem(x)).relu())).relu()
            let pooled = pool(h)
            return fc(pooled.reshape(pooled.shape[0], pooled.shape[1]))
        }
    }

    @Test func resNetGivesPyTorchsOutput() throws {
        let c = Fixtures.load("pytorch_resnet")[0]
        let file = Fixtures.directory.appendingPathComponent(c.string("file")!).path
        let net = SmallResNet()
        let report = try net.load(from: file)
        #expect(report.isComplete)
        net.eval()
        expectClose(net(c.inputs[0].tensor), c.expected[0].tensor, rtol: 1e-5, atol: 1e-5, "PyTorch's eval output")
        // The reader keeps the file's order: the state dict's own.
        guard case .array(let names)? = c.params["names"] else { Issue.record("no names"); return }
        #expect(try PyTorchCheckpoint.load(file).map(\.name) == names.map { if case .string(let s) = $0 { return s } else { return "?" } })
    }

    @Test func aCheckpointForAnotherModelIsRefusedByName() throws {
        let file = Fixtures.directory.appendingPathComponent("pytorch_resnet.pt").path
        let wrong = Sequential { Linear(8, 3) }
        #expect { try wrong.load(from: file) } throws: { error in
            "\(error)".contains("unexpected") && "\(error)".contains("block.conv1.weight")
        }
    }
}
