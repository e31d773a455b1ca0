extension BinaryInteger {
    /// The number with its digits in groups of three: `1234567.grouped` is `"1,234,567"`.
    ///
    /// ```swift
    /// print("\(model.parameterCount.grouped) parameters")   // 535,818 parameters
    /// ```
    public var grouped: String {
        let digits = String(magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return self < 0 ? "-" + out : out
    }
}
