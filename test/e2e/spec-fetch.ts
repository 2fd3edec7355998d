/**
 * A `fetch` for matrix-js-sdk clients that checks every Client-Server response the SDK gets
 * against the spec v1.16 OpenAPI schema of its operation and status (an error status the spec
 * lists without a schema must still be the standard `{errcode, error}` shape). Mismatches are
 * collected, not thrown: a throw inside `fetch` would reach the SDK as a network error, which it
 * retries or hides.
 */
import { operationTemplate, responseValidator } from './openapi';

/** One request the SDK made and the response it got, for hooks and failure reports. */
export interface Exchange {
  method: string;
  url: URL;
  /** The spec's path template, undefined for endpoints the spec does not have (unstable ones). */
  template: string | undefined;
  requestBody: string | undefined;
  status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

export interface SpecFetchOptions {
  /** Where responses that do not match the spec are reported. */
  schemaErrors: string[];
  /** Check only these templates (default: every operation the spec has). */
  only?: readonly string[];
  /** Called before each request is sent. */
  onRequest?: (method: string, url: URL) => void;
  /** Called with each exchange, after the check. */
  onExchange?: (exchange: Exchange) => void;
}

const isStandardError = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && typeof (body as { errcode?: unknown }).errcode === 'string' && /^M_/.test((body as { errcode: string }).errcode);

/** An operation whose 401 response is the spec's "Authentication response" schema. */
const UIA_TEMPLATE = '/_matrix/client/v3/delete_devices';

function check(method: string, template: string, status: number, body: unknown): string | undefined {
  let validate: (body: unknown) => void;
  try {
    validate = responseValidator('client-server', method.toLowerCase(), template, status);
  } catch (e) {
    if (!/no JSON schema/.test(String(e))) return String(e);
    // Spec "User-interactive authentication API": a 401 asking for more stages is the
    // "Authentication response" `{flows, params, session}`; some UIA operations (e.g.
    // `keys/device_signing/upload`) leave it out of their responses, so check it by another's.
    if (status === 401 && typeof body === 'object' && body !== null && 'flows' in body) return check('POST', UIA_TEMPLATE, 401, body);
    // Spec "Standard error response": every error body is `{errcode, error}`.
    if (status >= 400 && !isStandardError(body)) return `${method} ${template} ${status} is not a standard error: ${JSON.stringify(body)}`;
    return undefined;
  }
  try {
    validate(body);
  } catch (e) {
    return String(e);
  }
  return undefined;
}

/** A `fetch` (for `createClient({fetchFn})`) that checks each response and hands it on unchanged. */
export function specCheckedFetch(opts: SpecFetchOptions): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    opts.onRequest?.(method, url);
    const res = await fetch(input, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: checked below against the schema (which then fails) or passed on as is.
    }
    const template = operationTemplate('client-server', method.toLowerCase(), url.pathname);
    if (template && (!opts.only || opts.only.includes(template))) {
      const error = check(method, template, res.status, body);
      if (error) opts.schemaErrors.push(error);
    }
    const requestBody = typeof init?.body === 'string' ? init.body : undefined;
    opts.onExchange?.({ method, url, template, requestBody, status: res.status, body });
    // A null-body status (204, 304) cannot be given a body, not even an empty one.
    const nullBody = [101, 204, 205, 304].includes(res.status);
    return new Response(nullBody ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
