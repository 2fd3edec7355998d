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

/** Per API and method: each path template as a pattern, the most literal templates first. */
const templatePatterns = new Map<string, { template: string; pattern: RegExp }[]>();

/**
 * The spec's path template for a concrete request path (`/_matrix/client/v3/rooms/!r:x/messages`
 * → `/_matrix/client/v3/rooms/{roomId}/messages`), or undefined when the spec has no such
 * operation (an unstable or unknown endpoint). Where templates overlap, the one with fewer
 * parameters wins (`/room_keys/keys/{roomId}` over a two-parameter one of the same length).
 */
export function operationTemplate(api: Api, method: string, fullPath: string): string | undefined {
  const key = `${api} ${method}`;
  let patterns = templatePatterns.get(key);
  if (!patterns) {
    const s = spec(api);
    const prefixes = (s.servers ?? [{ url: '' }]).map((server) => new URL(server.url, 'http://x').pathname.replace(/\/$/, ''));
    patterns = prefixes
      .flatMap((prefix) =>
        Object.entries(s.paths)
          .filter(([, ops]) => ops[method] !== undefined)
          .map(([p]) => {
            const template = prefix + p;
            const source = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+');
            return { template, pattern: new RegExp(`^${source}$`), params: (p.match(/\{/g) ?? []).length };
          }),
      )
      .sort((a, b) => a.params - b.params);
    templatePatterns.set(key, patterns);
  }
  return patterns.find(({ pattern }) => pattern.test(fullPath))?.template;
}
