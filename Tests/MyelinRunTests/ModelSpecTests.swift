import Testing
import MyelinCore
@testable import MyelinRun
import MyelinNN

@Suite struct ModelSpecTests {
    @Test func mlpSpecFlattensImagesAndStacksHiddenLayers() throws {
        let spec = try ModelSpec.mlp(input: [1, 28, 28], outputs: 10, hidden: [512, 256], activation: "relu", dropout: 0.2)
        #expect(spec.layersText == "flatten,dense:512,relu,dropout:0.2,dense:256,relu,dropout:0.2")
        #expect(try spec.shapes() == [[784], [512], [512], [512], [256], [256], [256], [10]])
    }

    @Test func parsedSpecRoundTripsAndTracksShapes() throws {
        let spec = try ModelSpec.parse("conv:32:3, relu, maxpool:2, conv:64:3:2, bn, gap, 64, tanh", input: [1, 28, 28], outputs: 10)
        #expect(try spec.shapes() == [[32, 28, 28], [32, 28, 28], [32, 14, 14], [64, 7, 7], [64, 7, 7], [64], [64], [64], [10]])
        #expect(try ModelSpec.parse(spec.layersText, input: [1, 28, 28], outputs: 10) == spec)
        let cnn = try ModelSpec.cnn(input: [1, 28, 28], outputs: 10)
        #expect(try cnn.shapes().dropLast().last == [128])
    }

    @Test func badSpecsThrowOneLineErrors() {
        func message(_ text: String, input: [Int] = [1, 8, 8]) -> String {
            do { _ = try ModelSpec.parse(text, input: input, outputs: 3); return "no error" } catch { return "\(error)" }
        }
        #expect(message("dense:0") == "[model] layer 'dense:0': units must be a positive integer")
        #expect(message("swish").hasPrefix("[model] unknown layer 'swish'; expected dense:N"))
        #expect(message("dropout:1.5") == "[model] layer 'dropout:1.5': dropout needs a probability in [0, 1), as dropout:0.2")
        #expect(message("maxpool:2,maxpool:2,maxpool:2,maxpool:2") == "[model] layer 4 (maxpool:2) cannot pool a 1x1 map")
        #expect(message("conv:4:3", input: [10]) == "[model] layer 1 (conv:4:3) needs [channels, height, width] input, got [10]")
        #expect(throws: ModelSpecError.self) { try ModelSpec.mlp(input: [4], outputs: 3, hidden: [8], activation: "swish") }
        #expect(message("relu:2") == "[model] layer 'relu:2': relu takes no parameter, got 'relu:2'")
        #expect(message("leaky_relu:2") == "[model] layer 'leaky_relu:2': leaky_relu needs a slope in [0, 1), as leaky_relu:0.1")
    }

    @Test func activationsComeFromTheOneTable() throws {
        // Every row of the table is a --layers token and an --activation value.
        for kind in ActivationTable.kinds {
            let spec = try ModelSpec.parse("dense:4,\(kind.name)", input: [3], outputs: 2)
            #expect(try spec.build(generator: RandomGenerator(seed: 0)).layers.count == 3)
            #expect(try ModelSpec.mlp(input: [3], outputs: 2, hidden: [4], activation: kind.name).layersText == "dense:4,\(kind.name)")
        }
        #expect(try ModelSpec.mlp(input: [3], outputs: 2, hidden: [4], activation: "leaky_relu:0.30").layersText == "dense:4,leaky_relu:0.3")
        // A hand-edited model.json naming no activation is an error, not a silent relu.
        let edited = ModelSpec(inputShape: [3], outputs: 2, layers: [.dense(units: 4), .activation("swish")])
        #expect(throws: ModelSpecError.self) { try edited.shapes() }
        #expect(throws: ModelSpecError.self) { try edited.build(generator: RandomGenerator(seed: 0)) }
    }
}
