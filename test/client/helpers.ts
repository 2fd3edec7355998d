/** Client-Server requests against the homeserver worker in workerd, and account builders. */
import { hs, json } from '../workers/helpers';

export { hs, json };
export const SERVER = 'test.local';
export const PASSWORD = 'correct horse battery staple';

let counter = 0;
/** A fresh localpart, so tests never collide on a user. */
export const uniqueName = (base = 'user') => `${base}${++counter}x${Math.random().toString(36).slice(2, 8)}`;

export interface Session {
  user_id: string;
  access_token: string;
  device_id: string;
}

/** A request with an optional access token and JSON body. */
export function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return hs(`/_matrix/client${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}

/** Register (open registration: one m.login.dummy stage, sent in one go). */
export async function registerUser(username = uniqueName(), extra: Record<string, unknown> = {}): Promise<Session> {
  const res = await call('POST', '/v3/register', { body: { username, password: PASSWORD, auth: { type: 'm.login.dummy' }, ...extra } });
  const body = await json<Session>(res);
  if (res.status !== 200) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function loginUser(user: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<Response> {
  return call('POST', '/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });
}

/** An `m.login.password` auth dict for `userId`. */
export const passwordAuthDict = (userId: string, session?: string, password = PASSWORD) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user: userId },
  password,
  ...(session !== undefined ? { session } : {}),
});
