import Foundation

extension WordPieceTokenizer {
    /// The tokenizer of a Hugging Face model folder: `vocab.txt`, with the flags of
    /// `tokenizer_config.json` when the folder has one (else BERT uncased's defaults).
    ///
    /// ```swift
    /// let tok = try WordPieceTokenizer.load(directory: models + "/all-minilm-l6-v2")
    /// ```
    public static func load(directory: String) throws -> WordPieceTokenizer {
        let config = directory + "/tokenizer_config.json"
        let options = FileManager.default.fileExists(atPath: config) ? try readConfig(config) : Options()
        return try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt", options: options)
    }

    /// A tokenizer over a `vocab.txt`: one token per line, the id being the 0-based line number.
    ///
    /// ```swift
    /// let tok = try WordPieceTokenizer(vocabularyFile: "vocab.txt", options: .init(lowercase: true))
    /// ```
    public init(vocabularyFile path: String, options: Options = Options()) throws {
        try self.init(tokens: Self.readVocabulary(path), options: options, file: path)
    }

    /// The lines of a vocabulary file. Only the line break is removed (a token may hold spaces);
    /// a `\r` before it is removed too, so a file saved with CRLF reads the same.
    static func readVocabulary(_ path: String) throws -> [String] {
        let bytes = try readFileBytes(path, op: "wordpiece")
        guard !bytes.isEmpty else { throw DataError(op: "wordpiece", file: path, reason: "vocabulary file is empty") }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }  // the final line break ends the last token
        var tokens: [String] = []
        tokens.reserveCapacity(lines.count)
        for (n, line) in lines.enumerated() {
            let l = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            guard let token = String(validating: l, as: UTF8.self) else {
                throw DataError(op: "wordpiece", file: path, line: n + 1, reason: "token is not valid UTF-8")
            }
            tokens.append(token)
        }
        return tokens
    }

    /// The normalization flags of a `tokenizer_config.json`: `do_lower_case`, `strip_accents`
    /// (null follows lowercasing) and `tokenize_chinese_chars`; absent keys keep BERT's defaults.
    ///
    /// ```swift
    /// let options = try WordPieceTokenizer.readConfig("tokenizer_config.json")   // lowercase: true, ...
    /// ```
    public static func readConfig(_ path: String) throws -> Options {
        let bytes = try readFileBytes(path, op: "wordpiece")
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw DataError(op: "wordpiece", file: path, reason: "not valid JSON (\(bytes.count) bytes)")
        }
        guard let json = object as? [String: Any] else {
            throw DataError(op: "wordpiece", file: path, reason: "expected a JSON object at the top level")
        }
        func flag(_ key: String, nullable: Bool = false) throws -> Bool? {
            guard let value = json[key] else { return nil }
            if value is NSNull, nullable { return nil }
            // JSON booleans arrive as NSNumbers of ObjC type "c"; 0 and 1 are numbers, not flags.
            guard let n = value as? NSNumber, String(cString: n.objCType) == "c" else {
                throw DataError(op: "wordpiece", file: path, reason: "\(key) must be true or false\(nullable ? " or null" : ""), got \(value)")
            }
            return n.boolValue
        }
        var options = Options()
        if let v = try flag("do_lower_case") { options.lowercase = v }
        options.stripAccents = try flag("strip_accents", nullable: true)
        if let v = try flag("tokenize_chinese_chars") { options.tokenizeChineseChars = v }
        return options
    }
}
