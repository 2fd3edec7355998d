/** Requests to the homeserver worker under test, through its real fetch handler in workerd. */
import { exports } from 'cloudflare:workers';

export const ORIGIN = 'https://matrix.test.local';

export function hs(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
