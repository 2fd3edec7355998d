/**
 * One Durable Object per destination server name (`env.REMOTE_SERVER.getByName(serverName)`):
 * the durable queue of PDUs and EDUs for that server, sent as transactions (spec v1.16,
 * Server-Server API "Transactions").
 *
 * - One transaction in flight at a time, PDUs in the order queued, at most 50 PDUs and 100
 *   EDUs each (batch.ts).
 * - The transaction is stored (ID and exact body) before it is sent; its rows leave the queue
 *   only when the destination answers 200. A failure (network error, any other status) keeps
 *   it and retries the same ID and body after a backoff (1 s doubling to an hour) from the
 *   alarm, so a restart resumes where it stopped and the destination can drop a repeat.
 * - While a transaction is being sent, the alarm is a heartbeat watchdog: it is set WATCHDOG_MS
 *   ahead, and when it fires while this object is still sending it is only set again. An object
 *   that stopped mid-request (a restart) has no send running, so the alarm resends within
 *   WATCHDOG_MS instead of waiting out the request timeout.
 * - Per-PDU errors in a 200 answer are logged, not retried (the destination decided). EDUs
 *   queued more than EDU_MAX_AGE_MS ago are dropped unsent (spec: EDUs are ephemeral), except
 *   to-device messages and device-list updates (DURABLE_EDU_TYPES); PDUs never are.
 *
 * It also keeps the index of the rooms here in which the server's users are joined (api.ts
 * `RemoteMembershipIndex`), for the EDUs that server sends about them.
 */
import { DurableObject } from 'cloudflare:workers';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import { homeserverConfig } from '../../workers/shared/config';
import { federationRequest, federationSender, type FederationSender } from '../../workers/shared/federation-client';
import type { EnqueueInput, MembershipChange, QueueState, RemoteServerRpc } from './api';
import { backoffDelay, DURABLE_EDU_TYPES, EDU_MAX_AGE_MS, MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, nextTransactionId, pduErrors, pduQueueKey, planTransaction } from './batch';
import { RemoteServerStore, type PendingTransaction } from './store';

/** How soon a send cut short by a restart is resumed; a live send only re-arms it. */
const WATCHDOG_MS = 10_000;

const DESTINATION = 'destination';
const LAST_TXN_ID = 'last_txn_id';

export class RemoteServer extends DurableObject<HomeserverBindings> implements RemoteServerRpc {
  private readonly store: RemoteServerStore;
  private readonly sender: FederationSender;
  /** A send loop is running: new rows join it, nothing else starts one. */
  private sending = false;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new RemoteServerStore(ctx.storage.sql);
    this.sender = federationSender(homeserverConfig(env));
    ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  // ---- RPC --------------------------------------------------------------------------------

  async performEnqueue(destination: string, input: EnqueueInput): Promise<{ queued_pdus: number; queued_edus: number }> {
    const now = Date.now();
    const queued = this.ctx.storage.transactionSync(() => {
      this.rememberDestination(destination);
      let pdus = 0;
      for (const pdu of input.pdus ?? []) if (this.store.queuePdu(pduQueueKey(pdu), pdu)) pdus++;
      for (const edu of input.edus ?? []) this.store.queueEdu(edu.edu_type, edu.content, now);
      return { queued_pdus: pdus, queued_edus: input.edus?.length ?? 0 };
    });
    if (queued.queued_pdus + queued.queued_edus > 0) this.start();
    return queued;
  }

  async performWake(destination: string): Promise<void> {
    // Nothing owed (the usual case for a server that just sent us something): no write.
    const pending = this.store.pendingTransaction();
    if (!pending && this.queuedRows() === 0) return;
    if (pending?.retry_at != null || pending?.failures) {
      this.ctx.storage.transactionSync(() => {
        this.rememberDestination(destination);
        this.store.resetBackoff();
      });
    }
    this.start();
  }

  async getQueueState(): Promise<QueueState> {
    const counts = this.store.counts();
    const pending = this.store.pendingTransaction();
    return {
      destination: this.store.getMeta(DESTINATION),
      pending_pdus: counts.pdus,
      pending_edus: counts.edus,
      ...(pending
        ? {
            transaction: {
              txn_id: pending.txn_id, pdus: pending.body.pdus.length, edus: pending.body.edus.length,
              failures: pending.failures, retry_at: pending.retry_at, last_error: pending.last_error,
            },
          }
        : {}),
    };
  }

  // ---- RPC: the rooms this server's users are joined to here (api.ts RemoteMembershipIndex) --

  async performRecordMembership(userId: string, roomId: string, joined: boolean): Promise<void> {
    return this.performRecordMemberships(roomId, [{ user_id: userId, joined }]);
  }

  async performRecordMemberships(roomId: string, changes: MembershipChange[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      for (const c of changes) this.store.recordMembership(c.user_id, roomId, c.joined);
    });
  }

  async getJoinedRoomsOf(userId: string): Promise<string[]> {
    return this.store.joinedRoomsOf(userId);
  }

  /** Retries after a backoff, and the watchdog of a send the object did not finish. */
  override async alarm(): Promise<void> {
    // A send in this object is still awaiting its answer (up to the request timeout): keep watching.
    if (this.sending) return this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
    await this.run();
  }

  // ---- sending ----------------------------------------------------------------------------

  private queuedRows(): number {
    const { pdus, edus } = this.store.counts();
    return pdus + edus;
  }

  private rememberDestination(destination: string): void {
    if (this.store.getMeta(DESTINATION) === undefined) this.store.setMeta(DESTINATION, destination);
  }

  /** Start the send loop unless it runs or the transaction in flight waits for its retry. */
  private start(): void {
    if (this.sending) return;
    const pending = this.store.pendingTransaction();
    if (pending?.retry_at != null && pending.retry_at > Date.now()) {
      // The retry is the alarm's; should it have been lost, set it again.
      const retryAt = pending.retry_at;
      void this.ctx.storage.getAlarm().then((alarm) => (alarm === null ? this.ctx.storage.setAlarm(retryAt) : undefined));
      return;
    }
    void this.run();
  }

  /** Send transactions until the queue is empty or one fails (then the alarm retries it). */
  private async run(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    let idle = false;
    try {
      const destination = this.store.getMeta(DESTINATION);
      if (destination === undefined) return;
      for (;;) {
        const txn = this.store.pendingTransaction() ?? this.ctx.storage.transactionSync(() => this.nextTransaction());
        if (!txn) {
          idle = true;
          await this.ctx.storage.deleteAlarm();
          return;
        }
        if (txn.retry_at !== null && txn.retry_at > Date.now()) {
          await this.ctx.storage.setAlarm(txn.retry_at);
          return;
        }
        await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
        if (!(await this.send(destination, txn))) return;
      }
    } catch (e) {
      // Storage failing: the watchdog alarm (set before any send) tries again.
      console.error('remote-server: the send loop failed:', e);
    } finally {
      this.sending = false;
      // Rows queued while the loop was putting itself to sleep would wait for the next enqueue.
      if (idle && this.queuedRows() > 0) this.start();
    }
  }

  /** Make the next transaction from the queue's oldest rows (inside a storage transaction). */
  private nextTransaction(): PendingTransaction | undefined {
    const now = Date.now();
    const dropped = this.store.dropEdusQueuedBefore(now - EDU_MAX_AGE_MS, DURABLE_EDU_TYPES);
    if (dropped > 0) console.warn(`remote-server: dropped ${dropped} EDUs too old to send`);
    const plan = planTransaction(this.sender.serverName, now, this.store.unsentPdus(MAX_PDUS_PER_TRANSACTION), this.store.unsentEdus(MAX_EDUS_PER_TRANSACTION));
    if (!plan) return undefined;
    const txnId = nextTransactionId(this.store.getMeta(LAST_TXN_ID), now);
    this.store.setMeta(LAST_TXN_ID, txnId);
    this.store.startTransaction(txnId, plan.body, plan.pdu_ids, plan.edu_ids);
    return { txn_id: txnId, body: plan.body, failures: 0, retry_at: null, last_error: null };
  }

  /** `PUT /send/{txnId}` once; returns whether the destination took it (200). */
  private async send(destination: string, txn: PendingTransaction): Promise<boolean> {
    const uri = `/_matrix/federation/v1/send/${encodeURIComponent(txn.txn_id)}`;
    try {
      const answer = await federationRequest(this.sender, destination, 'PUT', uri, txn.body);
      for (const e of pduErrors(answer)) console.warn(`remote-server: ${destination} refused ${e.event_id} of transaction ${txn.txn_id}: ${e.error}`);
    } catch (e) {
      const failures = txn.failures + 1;
      const retryAt = Date.now() + backoffDelay(failures);
      const error = (e as Error).message;
      this.ctx.storage.transactionSync(() => this.store.recordFailure(txn.txn_id, failures, retryAt, error));
      await this.ctx.storage.setAlarm(retryAt);
      return false;
    }
    this.ctx.storage.transactionSync(() => this.store.finishTransaction(txn.txn_id));
    return true;
  }
}
