import ArgumentParser

/// Developer and test commands against a running broker and PostgreSQL: apply migrations, produce
/// and consume records, run the exactly-once test consumer, and the platform benchmark.
@main
struct DevTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twinfleet-devtool",
        abstract: "Twinfleet developer tool (reads the same environment variables as the services).",
        subcommands: [Migrate.self, Produce.self, Consume.self, ApplyTest.self, Bench.self, BenchTwin.self, BenchFleet.self, BenchDispatch.self, BenchUSP.self, BenchCWMP.self, BenchStack.self, MovePartition.self, Bulk.self, CPEPassword.self])
}
