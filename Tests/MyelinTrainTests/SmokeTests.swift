import Testing
import MyelinTrain
@Suite struct TrainSmokeTests { @Test func loads() { #expect(Bool(true)) } }
