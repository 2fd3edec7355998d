/**
 * Received transactions (spec v1.16, Server-Server API "Transactions",
 * https://spec.matrix.org/v1.16/server-server-api/#transactions): their limits, and the raw
 * text of each PDU, which the strict canonical JSON rule of room versions 6+ is checked on
 * (JSON.parse turns `1.0` and `1e2` into integers, so the parsed value cannot show them).
 * Pure.
 */

/** Spec `Transaction.pdus`: "Must not include more than 50 PDUs". */
export const MAX_TRANSACTION_PDUS = 50;
/** Spec `Transaction.edus`: "Must not include more than 100 EDUs". */
export const MAX_TRANSACTION_EDUS = 100;

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

function skipSpace(text: string, i: number): number {
  while (isSpace(text[i])) i++;
  return i;
}

/** The index just after the string literal starting at `i` (at its `"`). */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return i;
}

/** The index just after the JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const d = text[i];
      if (d === '"') {
        i = skipString(text, i) - 1;
      } else if (d === '{' || d === '[') {
        depth++;
      } else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return i;
  }
  while (i < text.length && !isSpace(text[i]) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  return i;
}

/**
 * The raw text of each element of the array under `key` in the top-level object of `text`
 * (the last one, as JSON.parse keeps the last of duplicate keys); undefined when `text` is not
 * an object or `key` is no array in it. `text` must be valid JSON (parse it first).
 */
export function rawArrayMember(text: string, key: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  let found: string[] | undefined;
  let sawKey = false;
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] === '"') {
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // ':'
    const end = skipValue(text, i);
    if (name === key) {
      sawKey = true;
      found = text[i] === '[' ? arrayElements(text, i) : undefined;
    }
    i = skipSpace(text, end);
    if (text[i] !== ',') break;
    i = skipSpace(text, i + 1);
  }
  return sawKey ? found : undefined;
}

/** The raw element texts of the array starting at `i` (at its `[`). */
function arrayElements(text: string, i: number): string[] {
  const out: string[] = [];
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] !== ']') {
    const end = skipValue(text, i);
    out.push(text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return out;
}
