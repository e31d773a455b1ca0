/// Small pieces of JSON written by hand where a whole encoder is not wanted (file headers, log lines).
public enum JSONText {
    /// `s` as a JSON string literal, quotes included: `JSONText.quote("a\"b")` is `"a\"b"`.
    ///
    /// ```swift
    /// let line = "{" + JSONText.quote("loss") + ": 0.25}"
    /// ```
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// How `number` writes NaN and the infinities, which JSON has no numbers for.
    public enum NonFinite: Sendable {
        /// `null`, as JSON-lines logs read by other tools expect.
        case null
        /// The strings `"nan"`, `"inf"` and `"-inf"`, which read back as the same values.
        case string
    }

    /// `v` as a JSON number in Swift's shortest round-trip form; NaN and the infinities as `nonFinite` says.
    ///
    /// ```swift
    /// JSONText.number(0.25)                        // 0.25
    /// JSONText.number(.nan)                        // null
    /// JSONText.number(-.infinity, nonFinite: .string)   // "-inf"
    /// ```
    public static func number(_ v: Double, nonFinite: NonFinite = .null) -> String {
        if v.isFinite { return "\(v)" }
        switch nonFinite {
        case .null: return "null"
        case .string: return v.isNaN ? "\"nan\"" : (v > 0 ? "\"inf\"" : "\"-inf\"")
        }
    }
}
