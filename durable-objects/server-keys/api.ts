/**
 * What callers see of a ServerKeys object: one per remote server name
 * (`env.SERVER_KEYS.getByName(serverName)`), holding the keys that server published. Reach it
 * through workers/shared/server-keys.ts, which also answers for this server's own key.
 */
export interface VerifyKeyQuery {
  server_name: string;
  key_id: string;
  /** The key must be valid at this time (ms); absent: any known key. */
  valid_at?: number;
}

export interface ServerKeysApi {
  /**
   * The key's unpadded base64 public key, from storage or, when unknown or not valid at
   * `valid_at`, fetched once more from the server's key server (at most every 10 s).
   */
  getVerifyKey(query: VerifyKeyQuery): Promise<string | undefined>;
  /** The server's last key response as received and checked (for notary answers), fetched if needed. */
  getKeyResponse(serverName: string, minimumValidUntil: number): Promise<string | undefined>;
}

export function serverKeysApi(namespace: DurableObjectNamespace, serverName: string): ServerKeysApi {
  return namespace.getByName(serverName) as unknown as ServerKeysApi;
}
