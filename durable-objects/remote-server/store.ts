/**
 * The only file with SQL for the RemoteServer object: its queue of PDUs and EDUs for one
 * destination, the transaction in flight, and the index of the rooms its users are joined to.
 */
import type { JsonObject } from '../../core/canonical-json';
import { getMeta, setMeta } from '../shared/meta';
import { applyMigrations } from '../shared/migrations';
import type { QueuedEdu, QueuedPdu, TransactionBody } from './batch';
import { MIGRATIONS } from './schema';

export interface PendingTransaction {
  txn_id: string;
  body: TransactionBody;
  failures: number;
  /** When to try again after a failure; null: now. */
  retry_at: number | null;
  last_error: string | null;
}

type PendingRow = { txn_id: string; body: string; failures: number; retry_at: number | null; last_error: string | null } & Record<string, SqlStorageValue>;

export class RemoteServerStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Apply pending migrations (call inside `transactionSync`). */
  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  getMeta(key: string): string | undefined {
    return getMeta(this.sql, key);
  }

  setMeta(key: string, value: string): void {
    setMeta(this.sql, key, value);
  }

  /** Queue a PDU unless one with the same key is queued; returns whether it was added. */
  queuePdu(queueKey: string, pdu: JsonObject): boolean {
    return this.sql.exec('INSERT INTO queued_pdus (queue_key, json) VALUES (?, ?) ON CONFLICT (queue_key) DO NOTHING RETURNING id', queueKey, JSON.stringify(pdu)).toArray().length > 0;
  }

  queueEdu(eduType: string, content: JsonObject, now: number): void {
    this.sql.exec('INSERT INTO queued_edus (edu_type, content, queued_ts) VALUES (?, ?, ?)', eduType, JSON.stringify(content), now);
  }

  /** The oldest PDUs not in a transaction yet. */
  unsentPdus(limit: number): QueuedPdu[] {
    return this.sql
      .exec<{ id: number; json: string }>('SELECT id, json FROM queued_pdus WHERE txn_id IS NULL ORDER BY id LIMIT ?', limit)
      .toArray()
      .map((r) => ({ id: r.id, pdu: JSON.parse(r.json) as JsonObject }));
  }

  /** The oldest EDUs not in a transaction yet. */
  unsentEdus(limit: number): QueuedEdu[] {
    return this.sql
      .exec<{ id: number; edu_type: string; content: string; queued_ts: number }>(
        'SELECT id, edu_type, content, queued_ts FROM queued_edus WHERE txn_id IS NULL ORDER BY id LIMIT ?', limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, edu_type: r.edu_type, content: JSON.parse(r.content) as JsonObject, queued_ts: r.queued_ts }));
  }

  /** Drop EDUs not in a transaction that were queued before `before`; returns how many. */
  /** Drop unsent EDUs queued before `before`, except those of the `keep` types. */
  dropEdusQueuedBefore(before: number, keep: readonly string[]): number {
    const marks = keep.map(() => '?').join(',');
    return this.sql
      .exec(`DELETE FROM queued_edus WHERE txn_id IS NULL AND queued_ts < ? AND edu_type NOT IN (${marks}) RETURNING id`, before, ...keep)
      .toArray().length;
  }

  counts(): { pdus: number; edus: number } {
    const pdus = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM queued_pdus').one().n;
    const edus = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM queued_edus').one().n;
    return { pdus, edus };
  }

  /** Record the transaction in flight and mark the rows it carries. */
  startTransaction(txnId: string, body: TransactionBody, pduIds: readonly number[], eduIds: readonly number[]): void {
    this.sql.exec('INSERT INTO pending_transaction (txn_id, body, failures, retry_at, last_error) VALUES (?, ?, 0, NULL, NULL)', txnId, JSON.stringify(body));
    for (const id of pduIds) this.sql.exec('UPDATE queued_pdus SET txn_id = ? WHERE id = ?', txnId, id);
    for (const id of eduIds) this.sql.exec('UPDATE queued_edus SET txn_id = ? WHERE id = ?', txnId, id);
  }

  pendingTransaction(): PendingTransaction | undefined {
    const row = this.sql.exec<PendingRow>('SELECT txn_id, body, failures, retry_at, last_error FROM pending_transaction').toArray()[0];
    return row && { txn_id: row.txn_id, body: JSON.parse(row.body) as TransactionBody, failures: row.failures, retry_at: row.retry_at, last_error: row.last_error };
  }

  /** The destination answered 200: the transaction and its rows are done. */
  finishTransaction(txnId: string): void {
    this.sql.exec('DELETE FROM queued_pdus WHERE txn_id = ?', txnId);
    this.sql.exec('DELETE FROM queued_edus WHERE txn_id = ?', txnId);
    this.sql.exec('DELETE FROM pending_transaction WHERE txn_id = ?', txnId);
  }

  recordFailure(txnId: string, failures: number, retryAt: number, error: string): void {
    this.sql.exec('UPDATE pending_transaction SET failures = ?, retry_at = ?, last_error = ? WHERE txn_id = ?', failures, retryAt, error, txnId);
  }

  /** Retry at once with a fresh backoff (the destination is back). */
  resetBackoff(): void {
    this.sql.exec('UPDATE pending_transaction SET failures = 0, retry_at = NULL');
  }

  // ---- the rooms this server's users are joined to here (api.ts getJoinedRoomsOf) ------------

  recordMembership(userId: string, roomId: string, joined: boolean): void {
    if (joined) this.sql.exec('INSERT INTO joined_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT DO NOTHING', userId, roomId);
    else this.sql.exec('DELETE FROM joined_rooms WHERE user_id = ? AND room_id = ?', userId, roomId);
  }

  joinedRoomsOf(userId: string): string[] {
    return this.sql.exec<{ room_id: string }>('SELECT room_id FROM joined_rooms WHERE user_id = ? ORDER BY room_id', userId).toArray().map((r) => r.room_id);
  }
}
