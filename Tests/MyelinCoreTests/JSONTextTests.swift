import Foundation
import Testing
import MyelinCore

/// Myelin's one hand JSON writer: strings and numbers that a JSON parser reads back unchanged.
@Suite struct JSONTextTests {
    @Test func quotedStringsParseBackToThemselves() throws {
        for s in ["", "loss", "a\"b\\c", "line\nbreak\ttab\r", "\u{1}\u{1f}", "ünïcödé ✓"] {
            let parsed = try JSONSerialization.jsonObject(with: Data(("[" + JSONText.quote(s) + "]").utf8)) as? [String]
            #expect(parsed == [s], "\(s.debugDescription)")
        }
        #expect(JSONText.quote("a\"b") == "\"a\\\"b\"")
        #expect(JSONText.quote("\u{1}") == "\"\\u0001\"")
    }

    @Test func numbersRoundTripAndNonFiniteIsSpelledAsAsked() {
        #expect(JSONText.number(0.25) == "0.25")
        #expect(JSONText.number(0.1) == "0.1")
        #expect(JSONText.number(-3) == "-3.0")
        #expect(JSONText.number(.nan) == "null")
        #expect(JSONText.number(.infinity) == "null")
        #expect(JSONText.number(.nan, nonFinite: .string) == "\"nan\"")
        #expect(JSONText.number(.infinity, nonFinite: .string) == "\"inf\"")
        #expect(JSONText.number(-.infinity, nonFinite: .string) == "\"-inf\"")
    }
}
