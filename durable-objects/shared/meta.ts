/**
 * A `meta (key TEXT PRIMARY KEY, value TEXT)` table, as the Room and RemoteServer stores keep
 * one: single facts of the object (room ID, current state group, destination name…).
 */
export function getMeta(sql: SqlStorage, key: string): string | undefined {
  return sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value;
}

export function setMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
}
