import Testing
import MyelinCore
import MyelinNN

/// The one list of activations: tokens parse to canonical form, every row builds its layer, help
/// lists every row.
@Suite struct ActivationTableTests {
    @Test func tokensParseToTheirCanonicalForm() throws {
        #expect(try ActivationTable.parse("relu") == "relu")
        #expect(try ActivationTable.parse("leaky_relu") == "leaky_relu")
        #expect(try ActivationTable.parse("leaky_relu:0.20") == "leaky_relu:0.2")
        #expect(try ActivationTable.parse("swish") == nil)
        #expect(try ActivationTable.parse("RELU") == nil, "names are matched as written")
    }

    @Test func badNumbersThrowWithTheRange() {
        func reason(_ token: String) -> String {
            do { _ = try ActivationTable.parse(token); return "no error" } catch { return "\(error)" }
        }
        #expect(reason("leaky_relu:1") == "[activation] leaky_relu needs a slope in [0, 1), as leaky_relu:0.1")
        #expect(reason("leaky_relu:nan") == "[activation] leaky_relu needs a slope in [0, 1), as leaky_relu:0.1")
        #expect(reason("leaky_relu:0.1:2") == "[activation] leaky_relu needs a slope in [0, 1), as leaky_relu:0.1")
        #expect(reason("relu:3") == "[activation] relu takes no parameter, got 'relu:3'")
        #expect(throws: ActivationError.self) { try ActivationTable.layer("swish") }
    }

    @Test func everyRowBuildsAWorkingLayer() throws {
        let x = Tensor([-2.0, 0.5, 3.0])
        for kind in ActivationTable.kinds {
            let layer = try ActivationTable.layer(kind.name)
            #expect(layer(x).shape == [3], "\(kind.name)")
        }
        #expect(try ActivationTable.layer("relu") is ReLU)
        #expect((try ActivationTable.layer("leaky_relu") as? LeakyReLU)?.slope == 0.01)
        #expect((try ActivationTable.layer("leaky_relu:0.25") as? LeakyReLU)?.slope == 0.25)
        #expect(try ActivationTable.layer("leaky_relu:0.25")(x).doubles == [-0.5, 0.5, 3])
    }

    @Test func helpListsEveryRowOnce() {
        let lines = ActivationTable.helpTable.split(separator: "\n")
        #expect(lines.count == ActivationTable.kinds.count)
        #expect(ActivationTable.usageList.hasPrefix("relu, tanh, sigmoid"))
        #expect(ActivationTable.usageList.contains("leaky_relu[:SLOPE]"))
        #expect(Set(ActivationTable.names).count == ActivationTable.names.count)
        #expect(lines.allSatisfy { $0.count <= 80 - 2 }, "fits the help's 80 columns with its indent")
    }
}
