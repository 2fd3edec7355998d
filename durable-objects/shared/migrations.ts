/**
 * Schema migrations for a Durable Object's SQLite storage: an ordered list of SQL scripts, the
 * number applied kept in `_schema`. Each object's store calls this inside `transactionSync`,
 * so a migration applies whole or not at all.
 */
export function applyMigrations(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec('CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)');
  const row = sql.exec<{ version: number }>('SELECT version FROM _schema').toArray()[0];
  const current = row?.version ?? 0;
  for (let v = current; v < migrations.length; v++) sql.exec(migrations[v]!);
  if (!row) sql.exec('INSERT INTO _schema (version) VALUES (?)', migrations.length);
  else if (current < migrations.length) sql.exec('UPDATE _schema SET version = ?', migrations.length);
}
