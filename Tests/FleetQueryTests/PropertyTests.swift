import Foundation
import Testing
@testable import FleetQuery

/// Random filters over random devices: the text form is faithful, the boolean structure is
/// classical (NOT is the complement, De Morgan holds) and every compiled filter is well formed.
@Suite struct PropertyTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomFilters(seed: UInt64) throws {
        var random = RandomFleet(seed: seed)
        let devices = (0..<40).map { random.device(id: $0) }
        for _ in 0..<300 {
            let expression = random.expression()
            let filter = try FleetFilter(root: expression)
            #expect(try FleetFilter(parsing: filter.description) == filter, "\(filter)")

            let first = Int.random(in: 1...9, using: &random.rng)
            let compiled = filter.compile(now: RandomFleet.now, firstPlaceholder: first)
            #expect(placeholders(in: compiled.whereSQL) == Array(first..<(first + compiled.binds.count)))
            #expect(foreignPieces(in: compiled.whereSQL) == [])

            let negated = try FleetFilter(root: .not(expression))
            let other = random.expression(depth: 1)
            let deMorganLeft = try FleetFilter(root: .not(.and([expression, other])))
            let deMorganRight = try FleetFilter(root: .or([.not(expression), .not(other)]))
            for device in devices {
                let hit = filter.matches(device, now: RandomFleet.now)
                #expect(negated.matches(device, now: RandomFleet.now) == !hit, "\(filter) on \(device.deviceID)")
                #expect(deMorganLeft.matches(device, now: RandomFleet.now) == deMorganRight.matches(device, now: RandomFleet.now))
            }
        }
    }

    @Test func randomFiltersSelectSomethingAndNotEverything() throws {
        // Guards the generator: if every filter matched all or nothing, the other properties
        // would prove little.
        var random = RandomFleet(seed: 99)
        let devices = (0..<40).map { random.device(id: $0) }
        var mixed = 0
        for _ in 0..<200 {
            let filter = try FleetFilter(root: random.expression())
            let count = devices.filter { filter.matches($0, now: RandomFleet.now) }.count
            if count > 0, count < devices.count { mixed += 1 }
        }
        #expect(mixed > 60, "only \(mixed) of 200 random filters split the fleet")
    }
}
