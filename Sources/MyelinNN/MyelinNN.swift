// Neural networks on Myelin tensors.
@_exported import MyelinCore
