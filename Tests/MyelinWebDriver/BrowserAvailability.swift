import Foundation

/// Where Chromium and a matching chromedriver are on this machine.
public struct BrowserPaths: Sendable, Equatable {
    /// The Chromium (or Chrome) executable handed to chromedriver as `goog:chromeOptions.binary`.
    public let chromium: String
    /// The chromedriver executable.
    public let chromedriver: String

    public init(chromium: String, chromedriver: String) {
        self.chromium = chromium
        self.chromedriver = chromedriver
    }
}

/// Finds Chromium and chromedriver, so that tests needing a browser can report themselves skipped without them.
///
/// Search order, first executable wins:
/// - chromedriver: `$MYELIN_CHROMEDRIVER`, then `chromedriver` on `PATH`, `/usr/bin/chromedriver`,
///   `/usr/lib/chromium/chromedriver`.
/// - Chromium: `$MYELIN_CHROMIUM`, then `/usr/lib/chromium/chromium` (Debian's real binary; its
///   `/usr/bin/chromium` is a shell launcher that adds extension flags), then `chromium`,
///   `chromium-browser`, `google-chrome`, `google-chrome-stable` on `PATH`, `/usr/bin/chromium`, and the
///   macOS application bundles.
///
/// A variable that is set but does not name an executable makes the browser unavailable (it is not ignored).
/// Typical use in Swift Testing:
///
///     @Suite(.serialized, .enabled(if: BrowserAvailability.isAvailable, "needs chromium and chromedriver (scripts/install-deps.sh)"))
public enum BrowserAvailability {
    /// Whether both executables were found.
    public static var isAvailable: Bool { (try? locate()) != nil }

    /// Why the browser is unavailable, or nil when it is available.
    public static var unavailableReason: String? {
        do {
            _ = try locate()
            return nil
        } catch {
            return error.message
        }
    }

    /// The paths of Chromium and chromedriver; throws `browserNotFound` saying what is missing and where it was looked for.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(WebDriverError) -> BrowserPaths {
        let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        let driver = try find(
            "chromedriver", variable: "MYELIN_CHROMEDRIVER", environment: environment,
            candidates: onPath(["chromedriver"], path) + ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        )
        let browser = try find(
            "Chromium", variable: "MYELIN_CHROMIUM", environment: environment,
            candidates: ["/usr/lib/chromium/chromium"]
                + onPath(["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"], path)
                + [
                    "/usr/bin/chromium",
                    "/Applications/Chromium.app/Contents/MacOS/Chromium",
                    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                ]
        )
        return BrowserPaths(chromium: browser, chromedriver: driver)
    }

    private static func onPath(_ names: [String], _ path: [String]) -> [String] {
        names.flatMap { name in path.map { ($0 as NSString).appendingPathComponent(name) } }
    }

    private static func find(_ what: String, variable: String, environment: [String: String], candidates: [String]) throws(WebDriverError) -> String {
        if let chosen = environment[variable], !chosen.isEmpty {
            guard isExecutable(chosen) else {
                throw WebDriverError(.browserNotFound, "\(variable)=\(chosen) is not an executable file")
            }
            return chosen
        }
        if let found = candidates.first(where: isExecutable) { return found }
        throw WebDriverError(
            .browserNotFound,
            "\(what) not found (set \(variable), or run scripts/install-deps.sh for Debian's chromium and chromium-driver); looked in "
                + candidates.joined(separator: ", ")
        )
    }

    private static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}

/// Where browser tests write screenshots and other artefacts.
///
/// `$MYELIN_BROWSER_ARTIFACTS` when set, else `.build/browser-artifacts` in the package root
/// (found from this file's location at build time, falling back to the current directory).
public enum BrowserArtifacts {
    /// The artefact directory (not created until something is written).
    public static var directory: URL {
        if let chosen = ProcessInfo.processInfo.environment["MYELIN_BROWSER_ARTIFACTS"], !chosen.isEmpty {
            return URL(fileURLWithPath: chosen, isDirectory: true)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let base = FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path)
            ? root : URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        return base.appendingPathComponent(".build/browser-artifacts", isDirectory: true)
    }

    /// The file `name` in the artefact directory; characters other than letters, digits, `.`, `-` and `_` become `_`.
    public static func url(for name: String) -> URL {
        let safe = String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
        return directory.appendingPathComponent(safe.isEmpty ? "artifact" : safe)
    }

    /// Writes `data` to `url`, creating the parent directories; throws `artifactWriteFailed` with the path and reason.
    public static func write(_ data: Data, to url: URL) throws(WebDriverError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw WebDriverError(.artifactWriteFailed, "cannot write \(data.count) bytes to \(url.path): \(error.localizedDescription)")
        }
    }
}
