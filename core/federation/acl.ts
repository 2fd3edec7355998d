/**
 * Server access control lists (spec v1.16, Client-Server API "Server Access Control Lists",
 * https://spec.matrix.org/v1.16/client-server-api/#server-access-control-lists-acls-for-rooms):
 * whether `m.room.server_acl` lets a server take part in a room. Pure.
 */
import { isJsonObject, type JsonObject } from '../canonical-json';
import { isIpv4Literal, splitServerName } from '../ids';

/** A glob of `*` and `?` as a case-insensitive regular expression (spec: "wildcards"). */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

const globs = (v: unknown): RegExp[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map(globToRegExp) : []);

/**
 * Spec: the port is ignored; IP literals are refused unless `allow_ip_literals` (default true);
 * `deny` wins over `allow`; a server matching no `allow` glob is refused. No ACL: everyone.
 */
export function serverAclAllows(acl: JsonObject | undefined, serverName: string): boolean {
  if (!acl || !isJsonObject(acl)) return true;
  let host: string;
  try {
    host = splitServerName(serverName).host;
  } catch {
    return false;
  }
  const isIp = host.startsWith('[') || isIpv4Literal(host);
  if (isIp && acl.allow_ip_literals === false) return false;
  if (globs(acl.deny).some((g) => g.test(host))) return false;
  return globs(acl.allow).some((g) => g.test(host));
}
