/** Room builders for Client-Server tests: create rooms, send events, page messages over HTTP. */
import { expect } from 'vitest';
import { call, json, type Session } from './helpers';

export const enc = encodeURIComponent;

let txnCounter = 0;

/** A request that must answer 200; returns the body. */
export async function ok<T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await call(method, path, { token, ...(body !== undefined ? { body } : {}) });
  const out = await json<T>(res);
  expect(res.status, `${method} ${path}: ${JSON.stringify(out)}`).toBe(200);
  return out;
}

/** A request that must fail with `status` and `errcode`. */
export async function fails(method: string, path: string, token: string, status: number, errcode: string, body?: unknown): Promise<void> {
  const res = await call(method, path, { token, ...(body !== undefined ? { body } : {}) });
  const out = await json(res);
  expect(res.status, `${method} ${path}: ${JSON.stringify(out)}`).toBe(status);
  expect(out.errcode).toBe(errcode);
}

export async function createRoom(s: Session, body: Record<string, unknown> = {}): Promise<string> {
  return (await ok<{ room_id: string }>('POST', '/v3/createRoom', s.access_token, body)).room_id;
}

export async function sendMessage(s: Session, roomId: string, text: string, txnId = `t${++txnCounter}`): Promise<string> {
  const out = await ok<{ event_id: string }>('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/${txnId}`, s.access_token, { msgtype: 'm.text', body: text });
  return out.event_id;
}

export interface ClientEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
}

export interface MessagesPage {
  chunk: ClientEvent[];
  start: string;
  end?: string;
  state?: ClientEvent[];
}

export function messages(s: Session, roomId: string, params: Record<string, string | number>): Promise<MessagesPage> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  return ok<MessagesPage>('GET', `/v3/rooms/${enc(roomId)}/messages?${q}`, s.access_token);
}

export async function stateContent(s: Session, roomId: string, type: string, key = ''): Promise<Record<string, unknown>> {
  return ok('GET', `/v3/rooms/${enc(roomId)}/state/${type}/${enc(key)}`, s.access_token);
}
