import Foundation
import Testing
import MyelinWebDriver

/// The parts of the client that need no browser: finding the executables, JSON values, error texts.
struct WebDriverSupportTests {
    /// A folder with executable stand-ins named `names`.
    private func fakeBin(_ names: [String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-fakebin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in names {
            let file = dir.appendingPathComponent(name)
            try Data("#!/bin/sh\n".utf8).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        return dir
    }

    @Test func environmentVariablesChooseTheExecutables() throws {
        let bin = try fakeBin(["my-driver", "my-browser"])
        defer { try? FileManager.default.removeItem(at: bin) }
        let paths = try BrowserAvailability.locate(environment: [
            "PATH": "/nonexistent",
            "MYELIN_CHROMEDRIVER": bin.appendingPathComponent("my-driver").path,
            "MYELIN_CHROMIUM": bin.appendingPathComponent("my-browser").path,
        ])
        #expect(paths == BrowserPaths(chromium: bin.appendingPathComponent("my-browser").path, chromedriver: bin.appendingPathComponent("my-driver").path))
    }

    @Test func aVariableNamingNoExecutableIsAnError() throws {
        let error = #expect(throws: WebDriverError.self) {
            try BrowserAvailability.locate(environment: ["MYELIN_CHROMEDRIVER": "/nonexistent/chromedriver"])
        }
        #expect(error?.code == .browserNotFound)
        #expect(error?.message == "MYELIN_CHROMEDRIVER=/nonexistent/chromedriver is not an executable file")
    }

    @Test func chromedriverIsFoundOnPATH() throws {
        let bin = try fakeBin(["chromedriver", "chromium"])
        defer { try? FileManager.default.removeItem(at: bin) }
        let paths = try BrowserAvailability.locate(environment: ["PATH": bin.path, "MYELIN_CHROMIUM": bin.appendingPathComponent("chromium").path])
        #expect(paths.chromedriver == bin.appendingPathComponent("chromedriver").path)
    }

    @Test func artefactNamesAreSanitised() {
        let url = BrowserArtifacts.url(for: "dash board/loss curve?.png")
        #expect(url.lastPathComponent == "dash_board_loss_curve_.png")
        #expect(url.deletingLastPathComponent().path == BrowserArtifacts.directory.path)
    }

    @Test func jsonKeepsBooleansApartFromNumbers() throws {
        let value = try JSONDecoder().decode(WebDriverJSON.self, from: Data(#"{"a":[1,true,0,false,2.5,null,"x"],"b":{}}"#.utf8))
        #expect(value == ["a": [1, true, 0, false, 2.5, .null, "x"], "b": [:]])
        #expect(value["a"]?[0]?.int == 1)
        #expect(value["a"]?[1]?.bool == true)
        #expect(value["a"]?[4]?.int == nil)
        #expect(value["a"]?[7] == nil)
        #expect(value.description == #"{"a":[1,true,0,false,2.5,null,"x"],"b":{}}"#)
    }

    @Test func errorsSayCommandStatusCodeAndMessage() {
        let error = WebDriverError(.noSuchElement, "no such element: #x", command: "POST /session/1/element", httpStatus: 404)
        #expect(error.description == "WebDriver error 'no such element' from POST /session/1/element (HTTP 404): no such element: #x")
        #expect(WebDriverError.Code(rawValue: "javascript error") == .javascriptError)
    }
}
