import FleetQuery
import ShardedPostgres

/// The twin schema on every shard. Every device-keyed row carries its partition number so a
/// partition can be moved to another shard by copying its rows.
public enum TwinMigrations {
    /// Shard tables of the twin-store (component "twin-store").
    public static let shard = MigrationSet(component: "twin-store", target: .shard, migrations: [
        Migration(version: 1, name: "devices, parameters, history, device events", statements: [
            """
            CREATE TABLE devices (
                device_id text PRIMARY KEY,
                partition integer NOT NULL,
                tenant_id text NOT NULL DEFAULT '',
                protocol text NOT NULL,
                oui text,
                product_class text,
                serial_number text,
                manufacturer text,
                model_name text,
                hardware_version text,
                software_version text,
                tags text[] NOT NULL DEFAULT '{}',
                first_seen timestamptz NOT NULL,
                last_contact timestamptz NOT NULL,
                last_boot timestamptz,
                online boolean NOT NULL DEFAULT false,
                instance_id text,
                connection_request_url text,
                twin_version bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX devices_partition ON devices (partition)",
            "CREATE INDEX devices_software_version ON devices (software_version)",
            "CREATE INDEX devices_model ON devices (manufacturer, model_name)",
            "CREATE INDEX devices_tags ON devices USING gin (tags)",
            // One row per (device, path). Objects have value NULL and type 'object'. `desired_*`
            // is set while a queued Set will change the value (filled by the command path).
            """
            CREATE TABLE parameters (
                device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
                path text COLLATE "C" NOT NULL,
                partition integer NOT NULL,
                value text,
                value_type text NOT NULL,
                writable boolean,
                reported_at timestamptz NOT NULL,
                sync_id text,
                desired_value text,
                desired_type text,
                desired_command_id text,
                desired_at timestamptz,
                PRIMARY KEY (device_id, path))
            """,
            "CREATE INDEX parameters_partition ON parameters (partition)",
            "CREATE INDEX parameters_path_value ON parameters (path, value)",
            // Every change of a value (new_value NULL: removed), partitioned by day.
            """
            CREATE TABLE parameter_history (
                device_id text NOT NULL,
                path text COLLATE "C" NOT NULL,
                partition integer NOT NULL,
                old_value text,
                new_value text,
                value_type text NOT NULL,
                changed_at timestamptz NOT NULL,
                twin_version bigint NOT NULL)
            PARTITION BY RANGE (changed_at)
            """,
            "CREATE TABLE parameter_history_default PARTITION OF parameter_history DEFAULT",
            "CREATE INDEX parameter_history_lookup ON parameter_history (device_id, path, changed_at)",
            "CREATE INDEX parameter_history_partition ON parameter_history (partition)",
            // Connectivity and lifecycle history: presence, informs, boots, transfers, operations.
            """
            CREATE TABLE device_events (
                device_id text NOT NULL,
                partition integer NOT NULL,
                occurred_at timestamptz NOT NULL,
                kind text NOT NULL,
                event_id text NOT NULL,
                instance_id text,
                detail text NOT NULL DEFAULT '')
            """,
            "CREATE INDEX device_events_lookup ON device_events (device_id, occurred_at)",
            "CREATE INDEX device_events_partition ON device_events (partition)",
        ]),
        Migration(version: 2, name: "history of superseded values, cheaper parameter indexes, command view", statements: [
            // Pre-release format change: history written before this migration is discarded.
            "DROP TABLE parameter_history",
            // A value reported again unchanged is no longer written: the column says since when
            // the current value holds.
            "ALTER TABLE parameters RENAME COLUMN reported_at TO value_since",
            // Moving a partition finds parameter rows through `devices.partition`; the index
            // cost every write. Values are indexed by prefix: a btree entry must stay under
            // ~2.7 kB and values can be longer.
            "DROP INDEX parameters_partition",
            "DROP INDEX parameters_path_value",
            "CREATE INDEX parameters_path_value ON parameters (path, left(value, 200))",
            // Room for HOT updates (sync markers, desired values touch no index).
            "ALTER TABLE parameters SET (fillfactor = 90)",
            // Each superseded (or removed) value with the interval it held, partitioned by the
            // day it was superseded.
            """
            CREATE TABLE parameter_history (
                device_id text NOT NULL,
                path text COLLATE "C" NOT NULL,
                partition integer NOT NULL,
                value text,
                value_type text NOT NULL,
                valid_from timestamptz NOT NULL,
                changed_at timestamptz NOT NULL,
                twin_version bigint NOT NULL)
            PARTITION BY RANGE (changed_at)
            """,
            "CREATE TABLE parameter_history_default PARTITION OF parameter_history DEFAULT",
            "CREATE INDEX parameter_history_lookup ON parameter_history (device_id, path, changed_at)",
            // The twin's view of each device's commands (the dispatcher owns their lifecycle).
            """
            CREATE TABLE device_commands (
                command_id text PRIMARY KEY,
                device_id text NOT NULL,
                partition integer NOT NULL,
                kind text,
                status text NOT NULL,
                final boolean NOT NULL,
                attempt integer NOT NULL DEFAULT 0,
                priority integer NOT NULL DEFAULT 0,
                created_at timestamptz,
                expires_at timestamptz,
                campaign_id text,
                bulk_operation_id text,
                requested_by text,
                cancel_requested_at timestamptz,
                error_code integer,
                error_message text,
                command bytea,
                outputs bytea,
                status_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX device_commands_device ON device_commands (device_id, created_at)",
            "CREATE INDEX device_commands_open ON device_commands (device_id) WHERE NOT final",
            "CREATE INDEX device_commands_partition ON device_commands (partition)",
        ]),
        Migration(version: 3, name: "fleet queries: byte-ordered device IDs, version ordering", statements: [
            // Fleet-query pages are merged across shards by device ID; "C" makes every shard
            // (and Swift) order IDs by their UTF-8 bytes, and keeps the primary key usable.
            #"ALTER TABLE devices ALTER COLUMN device_id TYPE text COLLATE "C""#,
            #"ALTER TABLE parameters ALTER COLUMN device_id TYPE text COLLATE "C""#,
            // The function text is part of this migration's checksum: change it in a new one.
            VersionKey.sqlFunctionDefinition,
            "CREATE INDEX devices_software_version_key ON devices (twinfleet_version_key(software_version))",
            // Support desks look devices up by serial number.
            "CREATE INDEX devices_serial_number ON devices (serial_number)",
        ]),
        Migration(version: 4, name: "fleet-query planning: joint path/value statistics, ordered field indexes", statements: [
            // Paths and values are strongly correlated (a value like "149" belongs to a few
            // paths); without joint statistics the planner multiplies their selectivities and
            // picks plans for a handful of rows where there are thousands.
            "CREATE STATISTICS parameters_path_value_stats (mcv, dependencies) ON path, left(value, 200) FROM parameters",
            // Field equality + first page in device-ID order: the index hands the rows over in
            // that order (device IDs cluster by product class, so walking the primary key and
            // filtering can read most of a shard before 50 rows match).
            "DROP INDEX devices_software_version",
            "CREATE INDEX devices_software_version ON devices (software_version, device_id)",
            "CREATE INDEX devices_model_name ON devices (model_name, device_id)",
        ]),
    ])
}
