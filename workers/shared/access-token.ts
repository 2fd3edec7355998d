/**
 * Access tokens: opaque to clients, but shaped so the auth gate can find the user's object
 * without any global table: `syt_<base64url(user ID)>_<base64url(32 random bytes)>`.
 * Only the SHA-256 of a token is ever stored (in the user's object), so a leaked database
 * holds nothing a client could present. The user ID part is not a secret (whoami tells it);
 * the 256 random bits are.
 */
import { decodeBase64Url, encodeBase64, encodeBase64Url } from '../../core/base64';
import { utf8Encode } from '../../core/utf8';
import { isValidUserId } from '../../core/ids';

const PREFIX = 'syt_';
/** Length of the unpadded base64url form of 32 bytes. */
const SECRET_CHARS = 43;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** A user ID as a base64url (unpadded) string, for identifiers that route to its object. */
export function encodeUserIdPart(userId: string): string {
  return encodeBase64Url(utf8Encode(userId));
}

/** The user ID of `encodeUserIdPart`'s output, or undefined when it is not one. */
export function decodeUserIdPart(part: string): string | undefined {
  try {
    const userId = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeBase64Url(part));
    return isValidUserId(userId) ? userId : undefined;
  } catch {
    return undefined;
  }
}

/** A new random token for `userId`. */
export function mintAccessToken(userId: string): string {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  return `${PREFIX}${encodeUserIdPart(userId)}_${encodeBase64Url(secret)}`;
}

/**
 * The user ID a token claims to belong to, or undefined when it is not one of ours. The claim
 * is only a routing hint: the user's object still has to recognise the token's hash.
 */
export function userIdOfToken(token: string): string | undefined {
  if (!token.startsWith(PREFIX) || token.length < PREFIX.length + SECRET_CHARS + 3 || !B64URL.test(token.slice(PREFIX.length))) return undefined;
  // Both parts may contain "_": the secret has a fixed length, so split from the end.
  const split = token.length - SECRET_CHARS - 1;
  return token[split] === '_' ? decodeUserIdPart(token.slice(PREFIX.length, split)) : undefined;
}

/** The form a token is stored and looked up in: unpadded base64 of its SHA-256. */
export async function hashAccessToken(token: string): Promise<string> {
  return encodeBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8Encode(token))));
}

/** A random unpadded base64url string of `bytes` random bytes (session IDs and the like). */
export function randomId(bytes = 18): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}
