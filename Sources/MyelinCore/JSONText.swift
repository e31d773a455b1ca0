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
}
