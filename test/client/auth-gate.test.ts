/**
 * The one auth gate, checked over the whole route table (Hono's `app.routes`): every client
 * route names its gate, no route the spec protects is public, and every protected route
 * refuses a request without a token (401 M_MISSING_TOKEN) or with an unknown one
 * (401 M_UNKNOWN_TOKEN), before any handler runs.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import app from '../../workers/homeserver/index';
import { authKindOf, type AuthKind } from '../../workers/shared/auth';
import { hs, json } from './helpers';

const PREFIX = '/_matrix/client';
/** Routes older than the gate, with no token and no spec security. */
const UNGATED = new Set(['GET /_matrix/client/versions']);

interface ClientRoute {
  method: string;
  path: string;
  gates: AuthKind[];
}

function clientRoutes(): ClientRoute[] {
  const byRoute = new Map<string, ClientRoute>();
  for (const r of app.routes) {
    if (!r.path.startsWith(PREFIX) || r.method === 'ALL') continue;
    const key = `${r.method} ${r.path}`;
    const route = byRoute.get(key) ?? { method: r.method, path: r.path, gates: [] };
    const gate = authKindOf(r.handler);
    if (gate) route.gates.push(gate);
    byRoute.set(key, route);
  }
  return [...byRoute.values()];
}

// A parameter may carry a Hono pattern (`:stateKey{.*}`, for the empty state key).
const specPath = (path: string) => path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, '{$1}');
const concretePath = (path: string) => path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, 'SOMEDEVICE');

describe('auth gate over every client route', () => {
  const routes = clientRoutes();
  const spec = env.CLIENT_AUTH_SPEC!;

  it('finds the routes', () => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
  });

  it('every route is in the spec and names a gate at least as strict as the spec', () => {
    for (const r of routes) {
      const key = `${r.method} ${specPath(r.path)}`;
      expect(spec[key], `${key} is not a spec operation`).toBeDefined();
      if (UNGATED.has(key)) continue;
      expect(r.gates, `${key} must name exactly one auth gate`).toHaveLength(1);
      if (spec[key] === 'required') expect(r.gates[0], key).toBe('accessToken');
      if (spec[key] === 'optional') expect(r.gates[0], key).not.toBe('none');
    }
  });

  it('every protected route refuses a request without a token, or with an unknown one', async () => {
    const protectedRoutes = routes.filter((r) => r.gates.includes('accessToken'));
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(10);
    for (const r of protectedRoutes) {
      const path = concretePath(r.path);
      const init = { method: r.method, ...(r.method === 'GET' ? {} : { body: '{}' }) };
      const missing = await hs(path, init);
      expect(missing.status, `${r.method} ${path}`).toBe(401);
      expect(await json(missing)).toEqual({ errcode: 'M_MISSING_TOKEN', error: expect.any(String) });

      const unknown = await hs(path, { ...init, headers: { Authorization: 'Bearer syt_bm9ib2R5_nope' } });
      expect(unknown.status, `${r.method} ${path}`).toBe(401);
      expect(await json(unknown)).toEqual({ errcode: 'M_UNKNOWN_TOKEN', error: expect.any(String), soft_logout: false });

      const byQuery = await hs(`${path}?access_token=syt_x`, init);
      expect((await json(byQuery)).errcode, `${r.method} ${path}`).toBe('M_UNKNOWN_TOKEN');
    }
  });
});
