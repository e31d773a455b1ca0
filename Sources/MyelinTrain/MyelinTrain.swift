// Training loop: see Trainer files.
@_exported import MyelinData
