/**
 * `createApp()` builds a Hono app with the behaviour every worker shares: CORS as the spec asks
 * for browser clients, one `onError` that renders `MatrixError` (and hides anything else behind
 * `M_UNKNOWN`), and `M_UNRECOGNIZED` for unknown endpoints.
 */
import { Hono, type Env as HonoEnv } from 'hono';
import { MatrixError } from './errors';

/**
 * Spec (Client-Server API, "Web Browser Clients"): servers MUST expect clients to approach them
 * with OPTIONS requests and SHOULD answer with these headers on all requests.
 */
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
};

export function createApp<E extends HonoEnv>(): Hono<E> {
  const app = new Hono<E>();

  app.use('*', async (c, next) => {
    if (c.req.method === 'OPTIONS') {
      return new Response(null, { status: 204, headers: CORS_HEADERS });
    }
    await next();
    for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value);
  });

  app.onError((err, c) => {
    if (err instanceof MatrixError) {
      return c.json(err.toJSON(), err.status, { ...CORS_HEADERS, ...err.headers() });
    }
    // Anything else is a bug: log it with the request line, never leak its text to the caller.
    console.error(`${c.req.method} ${new URL(c.req.url).pathname}:`, err);
    return c.json({ errcode: 'M_UNKNOWN', error: 'Internal server error' }, 500, CORS_HEADERS);
  });

  // Spec: "If the server does not recognise the endpoint, it should return 404 M_UNRECOGNIZED".
  app.notFound((c) =>
    c.json({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }, 404, CORS_HEADERS),
  );

  return app;
}
