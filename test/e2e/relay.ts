/**
 * A loopback HTTP relay in front of one homeserver, for tests with two servers: each server's
 * `FEDERATION_HOSTS` points the other's name at its relay. The relay can hold requests back
 * (changes made on both sides while it holds are concurrent for certain) and reports every
 * request it forwards (to print the federation traffic of a failing test).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the relay forwarded, with the answer. */
export interface RelayExchange {
  method: string;
  path: string;
  /** The `origin` of the request's `X-Matrix` authorization, if any. */
  origin: string | undefined;
  requestBody: string;
  status: number;
  responseBody: string;
}

export interface Relay {
  url: string;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

const originOf = (authorization: string | undefined) => authorization?.match(/origin="?([^",]+)"?/)?.[1];

export async function startRelay(targetPort: number, onExchange?: (exchange: RelayExchange) => void): Promise<Relay> {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', async () => {
      await gate;
      const requestBody = Buffer.concat(chunks);
      const report = (status: number, responseBody: string) =>
        onExchange?.({ method: req.method ?? '', path: req.url ?? '', origin: originOf(req.headers.authorization), requestBody: requestBody.toString(), status, responseBody });
      const forward = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (d: Buffer) => answerChunks.push(d));
        answer.on('end', () => {
          const body = Buffer.concat(answerChunks);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
          report(answer.statusCode ?? 502, body.toString());
        });
      });
      forward.on('error', () => {
        const body = JSON.stringify({ errcode: 'M_UNKNOWN', error: 'relay: destination unreachable' });
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(body);
        report(502, body);
      });
      forward.end(requestBody);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold() {
      gate ??= new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
