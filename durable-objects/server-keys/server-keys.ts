/**
 * One object per remote server name: the signing keys it publishes, fetched from its key
 * server (`GET /_matrix/key/v2/server`, spec "Retrieving server keys" directly) when first
 * needed or when no stored key is valid for the time asked about, checked (every verify key
 * signs the response; validity capped at 7 days), and kept in SQLite. Concurrent callers share
 * one fetch; a failed fetch is not retried for 10 s.
 */
import { DurableObject } from 'cloudflare:workers';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { checkKeyResponse, keyUsableAt } from '../../core/federation/server-keys';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import { homeserverConfig } from '../../workers/shared/config';
import { federationRequest, federationSender } from '../../workers/shared/federation-client';
import type { ServerKeysApi, VerifyKeyQuery } from './api';
import { ServerKeysStore } from './store';

/** A server that did not answer is asked again after this long at the earliest. */
const REFETCH_AFTER_MS = 10_000;

export class ServerKeys extends DurableObject<HomeserverBindings> implements ServerKeysApi {
  private readonly store: ServerKeysStore;
  private fetching: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new ServerKeysStore(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  async getVerifyKey(q: VerifyKeyQuery): Promise<string | undefined> {
    const usable = () => {
      const row = this.store.getKey(q.key_id);
      return row && keyUsableAt(row, q.valid_at) ? row.public_key : undefined;
    };
    const known = usable();
    if (known !== undefined) return known;
    await this.fetchKeys(q.server_name);
    return usable();
  }

  async getKeyResponse(serverName: string, minimumValidUntil: number): Promise<string | undefined> {
    const stored = this.store.getResponse();
    if (stored && stored.valid_until_ts >= minimumValidUntil) return stored.json;
    await this.fetchKeys(serverName);
    return this.store.getResponse()?.json;
  }

  /** Fetch and store the server's keys, unless a fetch ran within the last 10 s. */
  private fetchKeys(serverName: string): Promise<void> {
    const last = this.store.lastAttempt();
    if (last !== undefined && Date.now() - last < REFETCH_AFTER_MS) return Promise.resolve();
    this.fetching ??= this.fetchNow(serverName).finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetchNow(serverName: string): Promise<void> {
    const now = Date.now();
    let error: string | null = null;
    try {
      const body = await federationRequest<unknown>(federationSender(homeserverConfig(this.env)), serverName, 'GET', '/_matrix/key/v2/server');
      const checked = await checkKeyResponse(body, serverName, now, webCryptoEd25519);
      if (!checked.ok) error = checked.error;
      else {
        this.ctx.storage.transactionSync(() => {
          for (const k of checked.keys) this.store.putKey({ ...k, fetched_ts: now });
          this.store.putResponse(JSON.stringify(body), checked.valid_until_ts);
        });
      }
    } catch (e) {
      error = (e as Error).message;
    }
    if (error !== null) console.warn(`server keys: ${serverName}: ${error}`);
    this.store.recordAttempt(now, error);
  }
}
