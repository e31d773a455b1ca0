// `import Myelin` gives every subsystem.
@_exported import MyelinCore
@_exported import MyelinNN
