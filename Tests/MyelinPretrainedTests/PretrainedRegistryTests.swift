import Foundation
import MyelinCore
import MyelinData
@testable import MyelinPretrained
import MyelinTestSupport
import Testing

/// The registry of pretrained models: search order, downloads through a mirror, checksums, bad files.
@Suite struct PretrainedRegistryTests {
    func folder() -> String {
        let dir = temporaryTestPath("pretrained")
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }

    @Test func namesAndSearchOrder() {
        #expect(Pretrained.entry("ALL-minilm-L6-v2")?.name == "all-MiniLM-L6-v2")
        #expect(Pretrained.entry("all-minilm-l6-v2")?.folder == "all-minilm-l6-v2")
        #expect(Pretrained.entry("bert-huge") == nil)
        let p = Pretrained(modelsDir: "/a", environment: ["MYELIN_MODELS": "/b", "XDG_CACHE_HOME": "/c"])
        #expect(p.searchPaths == ["/a", "/b", "/c/myelin/models"])
        #expect(Pretrained(environment: ["HOME": "/home/x"]).searchPaths == ["/home/x/.cache/myelin/models"])
        let url = Pretrained.entries[0].file("model.safetensors")!.url
        #expect(url == "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/1110a243fdf4706b3f48f1d95db1a4f5529b4d41/model.safetensors")
        #expect(message { try Pretrained(environment: [:]).load("bert-huge") }.contains("[model] unknown pretrained model 'bert-huge' (known: all-MiniLM-L6-v2)"))
    }

    @Test func missingModelWithoutDownloadSaysWhereItLooked() {
        let dir = folder()
        let p = Pretrained(modelsDir: dir, environment: ["XDG_CACHE_HOME": dir + "/cache"], allowDownload: false)
        #expect(message { try p.locate("all-MiniLM-L6-v2") } == "[model] cannot find 'all-MiniLM-L6-v2': looked in \(dir), \(dir)/cache/myelin/models; downloading is off")
        // A truncated file is named with its size.
        try! FileManager.default.createDirectory(atPath: dir + "/all-minilm-l6-v2", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/all-minilm-l6-v2/model.safetensors", contents: Data([1, 2, 3]))
        #expect(message { try p.locate("all-MiniLM-L6-v2") }.contains("(\(dir)/all-minilm-l6-v2/model.safetensors has 3 bytes, expected 90868376)"))
    }

    @Test(.enabled(if: sharedModels() != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func downloadsThroughTheMirrorIntoTheCacheAndChecksEveryFile() throws {
        let cache = folder()
        let env = ["XDG_CACHE_HOME": cache, "MYELIN_MODELS_MIRROR": "file://" + sharedModels()!]
        let p = Pretrained(environment: env)
        #expect(p.status("all-MiniLM-L6-v2") == nil)
        let paths = try p.locate("all-MiniLM-L6-v2")
        #expect(paths["vocab.txt"] == cache + "/myelin/models/all-minilm-l6-v2/vocab.txt")
        #expect(p.status("all-MiniLM-L6-v2") == cache + "/myelin/models")
        try p.verify("all-MiniLM-L6-v2")
        // A mirror with a wrong file: the download is refused by its checksum and nothing is kept.
        let bad = folder(), cache2 = folder()
        let src = sharedModels()! + "/all-minilm-l6-v2"
        try FileManager.default.createDirectory(atPath: bad + "/all-minilm-l6-v2/1_Pooling", withIntermediateDirectories: true)
        for f in Pretrained.entries[0].files {
            try FileManager.default.copyItem(atPath: src + "/" + f.role, toPath: bad + "/all-minilm-l6-v2/" + f.role)
        }
        var config = try Data(contentsOf: URL(fileURLWithPath: bad + "/all-minilm-l6-v2/config.json"))
        config[10] ^= 1
        try config.write(to: URL(fileURLWithPath: bad + "/all-minilm-l6-v2/config.json"))
        let m = message { try Pretrained(environment: ["XDG_CACHE_HOME": cache2, "MYELIN_MODELS_MIRROR": bad]).locate("all-MiniLM-L6-v2") }
        #expect(m.contains("download from \(bad)/all-minilm-l6-v2/config.json failed: got 612 bytes with SHA-256"))
        #expect(!FileManager.default.fileExists(atPath: cache2 + "/myelin/models/all-minilm-l6-v2/config.json"))
    }

    @Test func configsTheEncoderCannotRunAreRefused() {
        func config(_ json: String) -> String { message { try BertConfig(json: Data(json.utf8)) } }
        let base = #""vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16"#
        #expect(config("{\(base)}") == "")
        #expect(config(#"{"model_type": "gpt2", \#(base)}"#).contains("model_type 'gpt2' is not supported"))
        #expect(config(#"{"position_embedding_type": "relative_key", \#(base)}"#).contains("position_embedding_type 'relative_key' is not supported"))
        #expect(config(#"{"hidden_act": "swish", \#(base)}"#).contains("hidden_act 'swish' is not supported"))
        #expect(config(#"{"vocab_size": 100}"#).contains("missing \"hidden_size\""))
        #expect(config(#"{"vocab_size": "many", "hidden_size": 8}"#).contains("\"vocab_size\" has the wrong type"))
        #expect(config(base.replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3").wrapped).contains("not a multiple"))
        #expect(config(base.replacingOccurrences(of: "\"vocab_size\": 100", with: "\"vocab_size\": 100000000000").wrapped).contains("\"vocab_size\" is 100000000000; expected 1 to 10000000"))
        #expect(config("[1, 2]").contains("not a JSON object of a BERT config"))
    }

    @Test func weightsThatDoNotFitAreRefusedWithTheirNames() throws {
        let dir = folder()
        let small = BertModel(BertConfig(vocabSize: 50, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 16))
        try Safetensors.save(small.stateDict(), to: dir + "/small.safetensors")
        let other = BertModel(BertConfig(vocabSize: 50, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 16), randomWeights: false)
        let m = message { try other.loadPretrained(dir + "/small.safetensors") }
        #expect(m.hasPrefix("[model] \(dir)/small.safetensors: the weights do not fit the model: missing encoder.layer.1."))
        // The same weights under BertForSequenceClassification's "bert." prefix load.
        var prefixed: [String: Tensor] = [:]
        for (k, v) in small.stateDict() { prefixed["bert." + k] = v }
        try Safetensors.save(prefixed, to: dir + "/prefixed.safetensors")
        let again = BertModel(small.config, randomWeights: false)
        try again.loadPretrained(dir + "/prefixed.safetensors")
        #expect(again.stateDict()["encoder.layer.0.output.dense.weight"]!.doubles == small.stateDict()["encoder.layer.0.output.dense.weight"]!.doubles)
    }
}

private extension String {
    var wrapped: String { "{" + self + "}" }
}
