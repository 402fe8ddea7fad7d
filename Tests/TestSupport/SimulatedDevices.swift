@_exported import DeviceSim

// The tests' devices are the simulator's devices (Shared/DeviceSim), under the names the tests
// have always used.
public typealias TestCPE = SimulatedCPE
public typealias TestParameter = SimParameter
public typealias TestCPEError = SimError
public typealias TestUSPAgent = SimulatedUSPAgent
