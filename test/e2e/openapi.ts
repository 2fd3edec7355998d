/**
 * Validates live responses against the Matrix spec v1.16 OpenAPI files in ../shared/spec
 * (ajv 2020-12 mode, strict off, as the shared README says).
 */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SPEC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/spec/openapi');

type Api = 'client-server' | 'server-server' | 'identity' | 'push-gateway' | 'application-service';
interface OpenApi {
  servers?: { url: string }[];
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>>;
}

const specs = new Map<Api, OpenApi>();
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);

function spec(api: Api): OpenApi {
  let s = specs.get(api);
  if (!s) {
    s = JSON.parse(readFileSync(path.join(SPEC_DIR, `${api}.json`), 'utf8')) as OpenApi;
    specs.set(api, s);
  }
  return s;
}

/** The OpenAPI paths are relative to a server prefix (e.g. /_matrix/client); match full paths. */
function findOperation(api: Api, method: string, fullPath: string) {
  const s = spec(api);
  for (const server of s.servers ?? [{ url: '' }]) {
    const prefix = new URL(server.url, 'http://x').pathname.replace(/\/$/, '');
    if (!fullPath.startsWith(prefix)) continue;
    const op = s.paths[fullPath.slice(prefix.length)]?.[method];
    if (op) return op;
  }
  throw new Error(`${api} spec has no ${method.toUpperCase()} ${fullPath}`);
}

/** A function that throws with ajv's errors unless `body` matches the spec's response schema. */
export function responseValidator(api: Api, method: string, fullPath: string, status: number) {
  const op = findOperation(api, method, fullPath);
  const schema = op.responses[String(status)]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`no JSON schema for ${status} of ${method} ${fullPath}`);
  const validate = ajv.compile(schema);
  return (body: unknown) => {
    if (!validate(body)) {
      throw new Error(`${method.toUpperCase()} ${fullPath} ${status} does not match the spec: ${ajv.errorsText(validate.errors)}`);
    }
  };
}
