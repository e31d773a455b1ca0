import Foundation
import Testing
import MyelinPlot

@Suite struct PNGTests {
    @Test func tinyImageDecodesToItsPixels() throws {
        // 3 x 2: red, green, blue / black, white, grey.
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255,
                            0, 0, 0, 255, 255, 255, 128, 128, 128]
        let bytes = PNGImage(width: 3, height: 2, rgb: rgb).encoded()
        let png = try decodePNG(bytes)
        #expect(png.chunkTypes == ["IHDR", "IDAT", "IEND"])
        #expect(png.width == 3 && png.height == 2 && png.bitDepth == 8 && png.colorType == 2)
        #expect(png.pixels == rgb)
    }

    @Test func largerImagesRoundTripWithFilters() throws {
        let w = 37, h = 23
        var rgb = [UInt8]()
        for y in 0..<h { for x in 0..<w { rgb += [UInt8(x * 6), UInt8(y * 11), UInt8((x * y) % 256)] } }
        let image = PNGImage(width: w, height: h, rgb: rgb)
        #expect(try decodePNG(image.encoded()).pixels == rgb)
        #expect(image.encoded() == image.encoded())
        let big = image.upscaled(by: 3)
        #expect(big.width == 111 && big.height == 69)
        let decoded = try decodePNG(big.encoded())
        #expect(Array(decoded.pixels[0..<9]) == [0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(decoded.pixels[(3 * 111 + 3) * 3..<(3 * 111 + 3) * 3 + 3]) == Array(rgb[(w + 1) * 3..<(w + 1) * 3 + 3]))
    }

    @Test func greyInitRepeatsTheByte() throws {
        let image = PNGImage(width: 2, height: 1, grey: [0, 200])
        #expect(image.rgb == [0, 0, 0, 200, 200, 200])
        #expect(try decodePNG(image.encoded()).pixels == image.rgb)
    }

    @Test func writesFilesAndReportsFailures() throws {
        let dir = temporaryFolder()
        let image = PNGImage(width: 1, height: 1, rgb: [1, 2, 3])
        try image.write(to: dir + "/dot.png")
        let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/dot.png")))
        #expect(back == image.encoded())
        #expect(throws: PlotError.cannotWrite(path: dir + "/no/dot.png", reason: "No such file or directory")) {
            try image.write(to: dir + "/no/dot.png")
        }
    }
}
