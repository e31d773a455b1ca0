import Testing
import MyelinPlot
@Suite struct PlotSmokeTests { @Test func loads() { #expect(Bool(true)) } }
