/** SQL of the ServerKeys object (schema.ts). */
import { applyMigrations } from '../shared/migrations';
import { MIGRATIONS } from './schema';

export interface VerifyKeyRow extends Record<string, SqlStorageValue> {
  key_id: string;
  /** Unpadded base64 of the 32-byte Ed25519 public key. */
  public_key: string;
  valid_until_ts: number;
  expired_ts: number | null;
  fetched_ts: number;
}

export class ServerKeysStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  getKey(keyId: string): VerifyKeyRow | undefined {
    return this.sql.exec<VerifyKeyRow>('SELECT * FROM verify_keys WHERE key_id = ?', keyId).toArray()[0];
  }

  allKeys(): VerifyKeyRow[] {
    return this.sql.exec<VerifyKeyRow>('SELECT * FROM verify_keys ORDER BY key_id').toArray();
  }

  /** Store a key; a key seen as current again after being listed as old keeps its newest facts. */
  putKey(row: VerifyKeyRow): void {
    this.sql.exec(
      `INSERT INTO verify_keys (key_id, public_key, valid_until_ts, expired_ts, fetched_ts) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_id) DO UPDATE SET public_key = excluded.public_key, valid_until_ts = MAX(valid_until_ts, excluded.valid_until_ts),
         expired_ts = excluded.expired_ts, fetched_ts = excluded.fetched_ts`,
      row.key_id, row.public_key, row.valid_until_ts, row.expired_ts, row.fetched_ts,
    );
  }

  lastAttempt(): number | undefined {
    return this.sql.exec<{ last_attempt_ts: number }>('SELECT last_attempt_ts FROM fetch_state WHERE id = 1').toArray()[0]?.last_attempt_ts;
  }

  recordAttempt(ts: number, error: string | null): void {
    this.sql.exec(
      'INSERT INTO fetch_state (id, last_attempt_ts, last_error) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET last_attempt_ts = excluded.last_attempt_ts, last_error = excluded.last_error',
      ts, error,
    );
  }

  putResponse(json: string, validUntil: number): void {
    this.sql.exec(
      'INSERT INTO key_responses (id, json, valid_until_ts) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json, valid_until_ts = excluded.valid_until_ts',
      json, validUntil,
    );
  }

  getResponse(): { json: string; valid_until_ts: number } | undefined {
    return this.sql.exec<{ json: string; valid_until_ts: number }>('SELECT json, valid_until_ts FROM key_responses WHERE id = 1').toArray()[0];
  }
}
