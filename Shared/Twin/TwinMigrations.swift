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
    ])
}
