import MyelinCore

extension Catalogue {
    /// Every data set the catalogue knows (checksums from `../shared/datasets/SHA256SUMS`), then the
    /// generated ones (`GeneratedSet`), which have no files.
    public static let entries: [CatalogueEntry] = [
        CatalogueEntry(name: "mnist", description: "MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grey-scale images, 10 classes (LeCun, Cortes, Burges; CC BY-SA 3.0)", files: [
            .init(role: "train-images", path: "mnist/train-images-idx3-ubyte.gz", sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", bytes: 9912422,
                  url: "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz"),
            .init(role: "train-labels", path: "mnist/train-labels-idx1-ubyte.gz", sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", bytes: 28881,
                  url: "https://storage.googleapis.com/cvdf-datasets/mnist/train-labels-idx1-ubyte.gz"),
            .init(role: "test-images", path: "mnist/t10k-images-idx3-ubyte.gz", sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", bytes: 1648877,
                  url: "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz"),
            .init(role: "test-labels", path: "mnist/t10k-labels-idx1-ubyte.gz", sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", bytes: 4542,
                  url: "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-labels-idx1-ubyte.gz"),
        ], task: .classification, classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
        CatalogueEntry(name: "fashion-mnist", description: "Fashion-MNIST: 60,000 training and 10,000 test 28x28 grey-scale images of clothing, 10 classes (Zalando; MIT)", files: [
            .init(role: "train-images", path: "fashion-mnist/train-images-idx3-ubyte.gz", sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", bytes: 26421880,
                  url: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/train-images-idx3-ubyte.gz"),
            .init(role: "train-labels", path: "fashion-mnist/train-labels-idx1-ubyte.gz", sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", bytes: 29515,
                  url: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/train-labels-idx1-ubyte.gz"),
            .init(role: "test-images", path: "fashion-mnist/t10k-images-idx3-ubyte.gz", sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", bytes: 4422102,
                  url: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/t10k-images-idx3-ubyte.gz"),
            .init(role: "test-labels", path: "fashion-mnist/t10k-labels-idx1-ubyte.gz", sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", bytes: 5148,
                  url: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/t10k-labels-idx1-ubyte.gz"),
        ], task: .classification, classes: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]),
        CatalogueEntry(name: "iris", description: "Fisher's Iris: 150 flowers, 4 measurements in cm, 3 species (scikit-learn's CSV; BSD-3)", files: [
            .init(role: "data", path: "iris/iris.csv", sha256: "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449", bytes: 2734,
                  url: "https://raw.githubusercontent.com/scikit-learn/scikit-learn/main/sklearn/datasets/data/iris.csv"),
        ], task: .classification, classes: ["setosa", "versicolor", "virginica"]),
        CatalogueEntry(name: "digits", description: "Optical handwritten digits: 1,797 8x8 images, pixel counts 0-16 as 64 features, 10 classes (scikit-learn; BSD-3)", files: [
            .init(role: "data", path: "digits/digits.csv.gz", sha256: "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22", bytes: 57523,
                  url: "https://raw.githubusercontent.com/scikit-learn/scikit-learn/main/sklearn/datasets/data/digits.csv.gz"),
        ], task: .classification, classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
        CatalogueEntry(name: "wine", description: "Wine recognition: 178 wines, 13 chemical features, 3 cultivars (scikit-learn; BSD-3)", files: [
            .init(role: "data", path: "wine/wine_data.csv", sha256: "10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede", bytes: 11157,
                  url: "https://raw.githubusercontent.com/scikit-learn/scikit-learn/main/sklearn/datasets/data/wine_data.csv"),
        ], task: .classification, classes: ["class_0", "class_1", "class_2"]),
        CatalogueEntry(name: "breast-cancer", description: "Breast Cancer Wisconsin (Diagnostic): 569 samples, 30 features, malignant/benign (scikit-learn; BSD-3)", files: [
            .init(role: "data", path: "breast-cancer/breast_cancer.csv", sha256: "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed", bytes: 119913,
                  url: "https://raw.githubusercontent.com/scikit-learn/scikit-learn/main/sklearn/datasets/data/breast_cancer.csv"),
        ], task: .classification, classes: ["malignant", "benign"]),
        CatalogueEntry(name: "sms-spam", description: "SMS Spam Collection v.1: 5,574 text messages, ham/spam, as bag-of-words counts (Almeida, Gomez Hidalgo)", files: [
            .init(role: "data", path: "sms-spam/SMSSpamCollection", sha256: "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d", bytes: 477907,
                  url: "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip", archiveMember: "SMSSpamCollection"),
        ], task: .classification, classes: ["ham", "spam"]),
        CatalogueEntry(name: "tinyshakespeare", description: "Tiny Shakespeare: 1.1 MB of plays for character-level language models, 65 characters (Karpathy, char-rnn)", files: [
            .init(role: "text", path: "tinyshakespeare/input.txt", sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", bytes: 1115394,
                  url: "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"),
        ], task: .classification, classes: []),
        // Generated on the spot (`GeneratedSet`): no files.
        CatalogueEntry(name: "xor", description: "XOR (TensorFlow Playground's exclusive or): points uniform in [-1, 1]^2, class 1 where x1 and x2 have different signs; --noise: Gaussian std added to the points (default 0.1)",
                       files: [], task: .classification, classes: ["0", "1"]),
        CatalogueEntry(name: "circles", description: "Two circles (Playground's circle; sklearn's make_circles, factor 0.5): class 0 on radius 1, class 1 on radius 0.5; --noise: Gaussian std added (default 0.1)",
                       files: [], task: .classification, classes: ["0", "1"]),
        CatalogueEntry(name: "gaussians", description: "Two Gaussians (Playground's, scaled by 1/4): class 1 around (0.5, 0.5), class 0 around (-0.5, -0.5), std sqrt(0.5 + 7 noise)/4 (default noise 0: std 0.18)",
                       files: [], task: .classification, classes: ["0", "1"]),
        CatalogueEntry(name: "spirals", description: "Two spirals (Playground's spiral; CS231n's arms): two interleaved arms of radius 0 to 1; --noise: std of the angle's jitter (default 0.2)",
                       files: [], task: .classification, classes: ["0", "1"]),
        CatalogueEntry(name: "moons", description: "Two moons (sklearn's make_moons): two interleaving half circles; --noise: Gaussian std added (default 0.1)",
                       files: [], task: .classification, classes: ["0", "1"]),
    ]

    /// Feature names of the tabular sets (as scikit-learn names them).
    static let featureNames: [String: [String]] = [
        "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
        "wine": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline"],
        "breast-cancer": ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness", "mean concavity", "mean concave points", "mean symmetry", "mean fractal dimension", "radius error", "texture error", "perimeter error", "area error", "smoothness error", "compactness error", "concavity error", "concave points error", "symmetry error", "fractal dimension error", "worst radius", "worst texture", "worst perimeter", "worst area", "worst smoothness", "worst compactness", "worst concavity", "worst concave points", "worst symmetry", "worst fractal dimension"],
        "digits": ["pixel_0_0", "pixel_0_1", "pixel_0_2", "pixel_0_3", "pixel_0_4", "pixel_0_5", "pixel_0_6", "pixel_0_7", "pixel_1_0", "pixel_1_1", "pixel_1_2", "pixel_1_3", "pixel_1_4", "pixel_1_5", "pixel_1_6", "pixel_1_7", "pixel_2_0", "pixel_2_1", "pixel_2_2", "pixel_2_3", "pixel_2_4", "pixel_2_5", "pixel_2_6", "pixel_2_7", "pixel_3_0", "pixel_3_1", "pixel_3_2", "pixel_3_3", "pixel_3_4", "pixel_3_5", "pixel_3_6", "pixel_3_7", "pixel_4_0", "pixel_4_1", "pixel_4_2", "pixel_4_3", "pixel_4_4", "pixel_4_5", "pixel_4_6", "pixel_4_7", "pixel_5_0", "pixel_5_1", "pixel_5_2", "pixel_5_3", "pixel_5_4", "pixel_5_5", "pixel_5_6", "pixel_5_7", "pixel_6_0", "pixel_6_1", "pixel_6_2", "pixel_6_3", "pixel_6_4", "pixel_6_5", "pixel_6_6", "pixel_6_7", "pixel_7_0", "pixel_7_1", "pixel_7_2", "pixel_7_3", "pixel_7_4", "pixel_7_5", "pixel_7_6", "pixel_7_7"],
    ]
}
