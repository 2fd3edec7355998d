/**
 * One shard of the event → room index (see api.ts): a table written by Room objects, read by
 * the federation `/event` endpoint.
 */
import { DurableObject } from 'cloudflare:workers';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import type { EventIndexApi, EventRoom } from './api';
import { EventIndexStore } from './store';

export class EventIndex extends DurableObject<HomeserverBindings> implements EventIndexApi {
  private readonly store: EventIndexStore;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new EventIndexStore(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  async performRecord(entries: EventRoom[]): Promise<void> {
    this.ctx.storage.transactionSync(() => this.store.record(entries));
  }

  async getRoomOf(eventId: string): Promise<string | undefined> {
    return this.store.roomOf(eventId);
  }
}
