import ShardedPostgres

/// The dispatcher's tables on every shard (component "command-dispatcher"). Every row carries
/// its partition, so a partition move takes the queue with it.
public enum DispatcherMigrations {
    public static let shard = MigrationSet(component: "command-dispatcher", target: .shard, migrations: [
        Migration(version: 1, name: "dispatcher devices, commands, transitions", statements: [
            // Presence and reachability as the dispatcher sees it; `wake_at` is when the clock
            // must look at the device again (expiry, backoff, lost delivery, connection request).
            """
            CREATE TABLE dispatcher_devices (
                device_id text COLLATE "C" PRIMARY KEY,
                partition integer NOT NULL,
                tenant_id text NOT NULL DEFAULT '',
                protocol text NOT NULL DEFAULT '',
                instance_id text,
                session_id text,
                connected boolean NOT NULL DEFAULT false,
                planned boolean NOT NULL DEFAULT false,
                connection_request_url text,
                connection_request_at timestamptz,
                connection_requests integer NOT NULL DEFAULT 0,
                needs_refresh boolean NOT NULL DEFAULT true,
                last_full_sync_at timestamptz,
                next_sequence bigint NOT NULL DEFAULT 1,
                wake_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX dispatcher_devices_partition ON dispatcher_devices (partition)",
            "CREATE INDEX dispatcher_devices_wake ON dispatcher_devices (partition, wake_at) WHERE wake_at IS NOT NULL",
            // The queue. `command` is the protobuf Command as requested (file-server credentials
            // included: they must be delivered); the twin keeps a redacted copy.
            """
            CREATE TABLE dispatcher_commands (
                command_id text COLLATE "C" PRIMARY KEY,
                device_id text COLLATE "C" NOT NULL,
                partition integer NOT NULL,
                tenant_id text NOT NULL DEFAULT '',
                sequence bigint NOT NULL,
                priority integer NOT NULL,
                independent boolean NOT NULL,
                idempotency_key text,
                kind text NOT NULL,
                command bytea NOT NULL,
                state text NOT NULL,
                dispatches integer NOT NULL DEFAULT 0,
                failures integer NOT NULL DEFAULT 0,
                retry_at timestamptz,
                session_id text,
                instance_id text,
                dispatched_at timestamptz,
                orphaned_at timestamptz,
                cancel_requested boolean NOT NULL DEFAULT false,
                last_error_code integer,
                last_error text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz)
            """,
            "CREATE UNIQUE INDEX dispatcher_commands_idempotency ON dispatcher_commands (device_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX dispatcher_commands_open ON dispatcher_commands (device_id, sequence) WHERE finished_at IS NULL",
            "CREATE INDEX dispatcher_commands_partition ON dispatcher_commands (partition)",
            "CREATE INDEX dispatcher_commands_finished ON dispatcher_commands (finished_at) WHERE finished_at IS NOT NULL",
            // Every state change, for the API's command timeline and for audits, ordered by
            // (at, ordinal). No serial key: rows move between shards with their partition.
            """
            CREATE TABLE dispatcher_transitions (
                command_id text COLLATE "C" NOT NULL,
                device_id text COLLATE "C" NOT NULL,
                partition integer NOT NULL,
                at timestamptz NOT NULL,
                from_state text,
                ordinal integer NOT NULL,
                to_state text NOT NULL,
                dispatches integer NOT NULL,
                detail text)
            """,
            "CREATE INDEX dispatcher_transitions_command ON dispatcher_transitions (command_id, at, ordinal)",
            "CREATE INDEX dispatcher_transitions_partition ON dispatcher_transitions (partition)",
        ]),
    ])
}
