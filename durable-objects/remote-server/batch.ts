/**
 * @module The pure rules of outbound transactions (spec v1.16, Server-Server API
 * "Transactions"): what goes into the next transaction to one destination, how long to wait
 * after a failure, which queued EDUs are too old to send, and the per-PDU errors of a
 * response. The RemoteServer object (remote-server.ts) applies them to its queue.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../core/canonical-json';

/** Spec "Transactions": "A transaction ... is limited to 50 PDUs and 100 EDUs." */
export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;

/** Backoff after a failed transaction: 1 s, doubling per failure, at most an hour (as Synapse's cap). */
export const BACKOFF_START_MS = 1_000;
export const BACKOFF_MAX_MS = 3_600_000;

/**
 * EDUs are "ephemeral" (spec "EDUs"): a typing notification or receipt queued this long ago is
 * stale, and unlike PDUs a server may drop them rather than deliver them late.
 */
export const EDU_MAX_AGE_MS = 10 * 60_000;

/**
 * EDUs that are never dropped for age: a to-device message (an encryption key share) or a
 * device-list change is not replaced by a later update the way typing, receipts and presence
 * are, so losing one breaks decryption at the destination (Synapse keeps these in durable
 * per-destination outboxes too).
 */
export const DURABLE_EDU_TYPES: readonly string[] = ['m.direct_to_device', 'm.device_list_update', 'm.signing_key_update'];

export interface QueuedPdu {
  /** Queue position: PDUs go out in this order. */
  id: number;
  pdu: JsonObject;
}

export interface QueuedEdu {
  id: number;
  edu_type: string;
  content: JsonObject;
  /** When it was queued (ms since the epoch). */
  queued_ts: number;
}

/** The spec's `Transaction` body of `PUT /_matrix/federation/v1/send/{txnId}`. */
export interface TransactionBody extends JsonObject {
  origin: string;
  origin_server_ts: number;
  pdus: JsonObject[];
  edus: { edu_type: string; content: JsonObject }[];
}

export interface PlannedTransaction {
  body: TransactionBody;
  /** Queue rows the transaction carries, removed once the destination answered 200. */
  pdu_ids: number[];
  edu_ids: number[];
}

/**
 * The next transaction from the queue's oldest rows (both lists in queue order): up to 50 PDUs
 * and 100 EDUs. Undefined when there is nothing to send.
 */
export function planTransaction(origin: string, now: number, pdus: readonly QueuedPdu[], edus: readonly QueuedEdu[]): PlannedTransaction | undefined {
  const p = [...pdus].sort((a, b) => a.id - b.id).slice(0, MAX_PDUS_PER_TRANSACTION);
  const e = [...edus].sort((a, b) => a.id - b.id).slice(0, MAX_EDUS_PER_TRANSACTION);
  if (p.length === 0 && e.length === 0) return undefined;
  return {
    body: {
      origin,
      origin_server_ts: now,
      pdus: p.map((r) => r.pdu),
      edus: e.map((r) => ({ edu_type: r.edu_type, content: r.content })),
    },
    pdu_ids: p.map((r) => r.id),
    edu_ids: e.map((r) => r.id),
  };
}

/** Delay before retrying after the `failures`-th consecutive failure (1-based). */
export function backoffDelay(failures: number): number {
  if (failures <= 0) return 0;
  // 2^22 s is far above the cap: clamp the exponent so the arithmetic stays exact.
  return Math.min(BACKOFF_START_MS * 2 ** Math.min(failures - 1, 22), BACKOFF_MAX_MS);
}

/**
 * A transaction ID that never repeats for this destination, even if the queue's storage were
 * lost: the current time, or one past the previous ID when the clock has not moved on (Synapse
 * also seeds its transaction IDs from the clock). Receivers deduplicate on it (spec
 * "Transactions": the ID is "unique ... to the sending server").
 */
export function nextTransactionId(previous: string | undefined, now: number): string {
  const last = previous !== undefined && /^\d+$/.test(previous) ? Number(previous) : 0;
  return String(Math.max(now, last + 1));
}

/**
 * The PDUs the destination did not accept, from a 200 response's `pdus` map (spec: each event
 * ID maps to `{}` or `{error}`). They are logged, never retried: the destination has decided.
 */
export function pduErrors(response: JsonValue): { event_id: string; error: string }[] {
  if (!isJsonObject(response) || !isJsonObject(response.pdus)) return [];
  const out: { event_id: string; error: string }[] = [];
  for (const [eventId, result] of Object.entries(response.pdus)) {
    if (isJsonObject(result) && result.error !== undefined) out.push({ event_id: eventId, error: String(result.error) });
  }
  return out;
}

/**
 * What identifies a PDU in the queue, so a PDU handed over twice (a Room retrying a delivery
 * whose answer it lost) is queued once: its content hash (spec "Calculating the content hash
 * for an event"), which covers everything but signatures and `unsigned`, and so differs
 * between any two events.
 */
export function pduQueueKey(pdu: JsonObject): string {
  const hashes = pdu.hashes;
  const sha = isJsonObject(hashes) && typeof hashes.sha256 === 'string' ? hashes.sha256 : undefined;
  return sha !== undefined ? `sha256:${sha}` : `json:${JSON.stringify(pdu)}`;
}
