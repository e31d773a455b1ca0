import Foundation
import MyelinTestSupport

/// This target's fixture files (Tests/MyelinCoreTests/Fixtures).
enum Fixtures {
    static let files = FixtureSet(besideFile: #filePath)
    static var directory: URL { files.directory }
    static func load(_ name: String) -> [FixtureCase] { files.load(name) }
}
