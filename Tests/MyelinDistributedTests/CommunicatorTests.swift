import Foundation
import Testing
@testable import MyelinDistributed

@Suite struct CommunicatorTests {
    /// Each rank's values: rank-dependent, not symmetric, so a wrong rank order or op shows.
    static func values(rank: Int, count: Int) -> [Double] {
        (0..<count).map { i in Double((rank + 1) * (i + 3) % 7) - 2.5 * Double(rank) }
    }

    @Test(arguments: [1, 2, 3])
    func allreduceCombinesEveryRankInPlace(ranks: Int) throws {
        let results = try InProcessCommunicator.run(ranks: ranks) { comm -> [[Double]] in
            var sum = Self.values(rank: comm.rank, count: 5), average = sum, largest = sum, smallest = sum
            try comm.allreduce(&sum, op: .sum)
            try comm.allreduce(&average, op: .average)
            try comm.allreduce(&largest, op: .max)
            try comm.allreduce(&smallest, op: .min)
            var floats = Self.values(rank: comm.rank, count: 5).map { Float($0) }
            try comm.allreduce(&floats, op: .sum)
            return [sum, average, largest, smallest, floats.map { Double($0) }]
        }
        let all = (0..<ranks).map { Self.values(rank: $0, count: 5) }
        for i in 0..<5 {
            let column = all.map { $0[i] }
            let total = column.reduce(0, +)
            for r in 0..<ranks {
                #expect(results[r][0][i] == total)
                #expect(Swift.abs(results[r][1][i] - total / Double(ranks)) < 1e-12)
                #expect(results[r][2][i] == column.max()!)
                #expect(results[r][3][i] == column.min()!)
                #expect(Swift.abs(results[r][4][i] - total) < 1e-5)
            }
        }
    }

    @Test func broadcastAllgatherAndBarrier() throws {
        let results = try InProcessCommunicator.run(ranks: 3) { comm -> ([UInt8], [Int], [UInt64]) in
            let mine: [UInt8] = comm.rank == 1 ? [9, 8, 7, 6] : []
            let bytes = try comm.broadcast(mine, root: 1)
            try comm.barrier()
            let gathered = try comm.allgather(10 * comm.rank + 1)
            let digests = try comm.allgather(UInt64(comm.rank) << 40)
            return (bytes, gathered, digests)
        }
        for r in results {
            #expect(r.0 == [9, 8, 7, 6])
            #expect(r.1 == [1, 11, 21])
            #expect(r.2 == [0, 1 << 40, 2 << 40])
        }
    }

    @Test func differentSizesThrowOnEveryRank() throws {
        #expect(throws: DistributedError.self) {
            _ = try InProcessCommunicator.run(ranks: 2) { comm in
                var x = [Double](repeating: 1, count: comm.rank == 0 ? 10 : 12)
                do {
                    try comm.allreduce(&x, op: .sum)
                } catch let e as DistributedError {
                    #expect(e.message == "[allreduce] buffer sizes differ on ranks: \(x.count) vs \(comm.rank == 0 ? 12 : 10)")
                    throw e
                }
            }
        }
    }

    @Test func aFailingRankEndsTheOthersCollectives() throws {
        let started = Date()
        do {
            _ = try InProcessCommunicator.run(ranks: 3, timeout: 30) { comm in
                if comm.rank == 2 { throw DistributedError("[test] rank 2 gives up") }
                try comm.barrier()
            }
            Issue.record("run should have thrown")
        } catch let e as DistributedError {
            #expect(e.message == "[test] rank 2 gives up")
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aMissingRankTimesOut() throws {
        let comms = InProcessCommunicator.group(size: 2, timeout: 0.3)
        #expect(throws: DistributedError.self) { try comms[0].barrier() }
    }

    @Test func queuedAllreducesRunInOrderWhileTheCallerGoesOn() throws {
        let results = try InProcessCommunicator.run(ranks: 2) { comm -> [[Float]] in
            let queued = QueuedCommunicator(comm)
            var buffers = (0..<4).map { k in [Float](repeating: Float(comm.rank * 10 + k), count: 1000) }
            var pending: [QueuedCommunicator.Pending] = []
            for k in 0..<4 {
                let p = buffers[k].withUnsafeMutableBufferPointer { UnsafeMutableBufferPointer(start: $0.baseAddress, count: $0.count) }
                pending.append(queued.startAllreduce(p, op: .average))
            }
            var between = [Double(comm.rank)]
            try queued.allreduce(&between, op: .sum)
            for p in pending { try p.wait() }
            #expect(between == [1])
            return buffers.map { [$0[0], $0[999]] }
        }
        let expected: [[Float]] = (0..<4).map { k in [Float(k) + 5, Float(k) + 5] }
        for r in results { #expect(r == expected) }
    }

    @Test func singleProcessCommunicatorLeavesValues() throws {
        let comm = SingleProcessCommunicator()
        var x: [Double] = [1, 2]
        try comm.allreduce(&x, op: .average)
        #expect(x == [1, 2])
        #expect(try comm.allgather(7) == [7])
        #expect(throws: DistributedError.self) { try comm.broadcast([1], root: 1) }
    }

    @Test func mpiIsNotDetectedOutsideMPIRun() throws {
        let env = ProcessInfo.processInfo.environment
        let launched = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
        #expect(MPICommunicator.isLaunchedByMPI == launched)
        if !launched {
            let comm = try? Communicators.current()
            #expect(comm is SingleProcessCommunicator)
        }
    }
}
