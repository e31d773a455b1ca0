// Training: `Trainer` (fit / evaluate / predict), callbacks, progress output, metrics, history.
@_exported import MyelinCore
@_exported import MyelinNN
@_exported import MyelinData
