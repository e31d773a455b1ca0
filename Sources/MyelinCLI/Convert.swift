import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// `myelin convert`: a PyTorch checkpoint (`torch.save(model.state_dict())`) to `.safetensors`.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch checkpoint (.pt/.pth from torch.save) to .safetensors, without running any code in it.",
        discussion: """
            Example: myelin convert resnet.pt resnet.safetensors

            Reads the zip format of PyTorch 1.6 and later as torch.load(weights_only=True) does: only tensors, dicts, lists and numbers; any other object in the file is refused, never run. Nested dicts become dotted names (a {"state_dict": ...} checkpoint gives its state dict); float16 and bfloat16 become float32, int16, int8 and uint8 become int32. The output is written atomically, with {"format": "pt"} in its metadata.
            """)

    @Argument(help: "The checkpoint to read (.pt or .pth).") var input: String
    @Argument(help: "The .safetensors file to write.") var output: String
    @Flag(help: "Replace the output file when it exists.") var overwrite = false

    func run() throws {
        runOrFail {
            guard output.hasSuffix(".safetensors") else {
                throw RunError(op: "convert", "the output \(output) must end in .safetensors")
            }
            // As train and word2vec do: an existing file is replaced only when asked.
            guard overwrite || !FileManager.default.fileExists(atPath: output) else {
                throw RunError(op: "convert", "\(output) exists; pass --overwrite to replace it")
            }
            let tensors = try PyTorchCheckpoint.load(input)
            guard !tensors.isEmpty else { throw RunError(op: "convert", "\(input) holds no tensors; nothing written") }
            let values = tensors.reduce(0) { $0 + $1.tensor.count }
            try Safetensors.save(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }), to: output,
                                 metadata: ["format": "pt"])
            print("wrote \(tensors.count) tensor\(tensors.count == 1 ? "" : "s") (\(values) value\(values == 1 ? "" : "s")) to \(output)")
        }
    }
}
