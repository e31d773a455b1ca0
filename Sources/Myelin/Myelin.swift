@_exported import MyelinCore
@_exported import MyelinNN
@_exported import MyelinData
@_exported import MyelinTrain
@_exported import MyelinPlot
@_exported import MyelinClassic
@_exported import MyelinPretrained
@_exported import MyelinDistributed
