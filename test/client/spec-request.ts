/**
 * Client-Server requests in workerd whose responses are checked against the spec v1.16 OpenAPI
 * schema of their operation and status (as test/e2e/spec-client.ts does for e2e tests);
 * statuses the spec lists without a schema must be the standard `{errcode, error}` error.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import clientServerSpec from '../../../shared/spec/openapi/client-server.json';
import { call, json } from './helpers';

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>>;
}
const SPEC = clientServerSpec as unknown as OpenApi;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const compiled = new Map<object, ReturnType<typeof ajv.compile>>();

/** Response bodies are whatever the spec allows; tests read fields off them freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SpecBody = any;

export interface SpecRequest {
  /** The concrete path when `template` has parameters. */
  path?: string;
  token?: string;
  body?: unknown;
  /** A request body sent as it is (e.g. malformed JSON), instead of `body`. */
  raw?: string;
  /** The status the test expects; the response must match the spec for it. */
  status: number;
  errcode?: string;
}

/**
 * A request to the spec operation `template` (its full path, e.g. `/_matrix/client/v3/keys/query`)
 * that must answer `status` with a body the spec allows for it.
 */
export async function specRequest(method: string, template: string, opts: SpecRequest): Promise<SpecBody> {
  const path = (opts.path ?? template).replace(/^\/_matrix\/client/, '');
  const res = await call(method, path, {
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.raw !== undefined ? { raw: opts.raw } : {}),
  });
  const body = await json<SpecBody>(res);
  expect(res.status, `${method} ${path}: ${JSON.stringify(body)}`).toBe(opts.status);
  if (opts.errcode !== undefined) expect(body.errcode, `${method} ${path}`).toBe(opts.errcode);
  const op = SPEC.paths[template]?.[method.toLowerCase()];
  if (!op) throw new Error(`the spec has no ${method} ${template}`);
  const schema = op.responses[String(opts.status)]?.content?.['application/json']?.schema;
  if (schema) {
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
    expect(validate(body), `${method} ${path} ${opts.status} does not match the spec: ${ajv.errorsText(validate.errors)}`).toBe(true);
  } else {
    expect(opts.status, `the spec has no ${opts.status} for ${method} ${template}`).toBeGreaterThanOrEqual(400);
    expect(body).toEqual(expect.objectContaining({ errcode: expect.stringMatching(/^M_/), error: expect.any(String) }));
  }
  return body;
}
