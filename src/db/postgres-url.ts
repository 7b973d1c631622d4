// libpq's multi-host connection URL (postgres://h1:5432,h2:5433/bank?target_session_attrs=read-write),
// which node-postgres does not read: bankd parses the host list itself and connects the pool to one
// host at a time, the one a probe found writable (src/db/primary.ts). Only what bankd implements is
// accepted; every other multi-host parameter is refused with a sentence naming it, so that a URL
// never means less than its author meant (a "prefer-standby" silently treated as "read-write"
// would send the bank's writes where the author wanted none).
//
// Accepted:
// - hosts: name, IPv4 or [IPv6], each with an optional :port (5432 when omitted), at most
//   limits.dbHostsMax of them, no duplicates;
// - target_session_attrs: read-write or primary (the same thing for bankd: the host that accepts
//   writes), or for a read replica's URL standby; required as soon as there are two hosts (libpq's
//   default, any, would take whichever host answers first);
// - load_balance_hosts=disable (libpq's default: hosts are tried in order; bankd probes them all
//   anyway);
// - every other parameter is passed to each host's connection as it is (sslmode, connect_timeout...).
// Refused: host=, hostaddr= and port= in the query next to a host list (one place for the hosts),
// other target_session_attrs values, load_balance_hosts=random, socket paths in a host list.
import { limits } from "../limits";

export type WantedRole = "primary" | "standby";

export interface HostPort {
  host: string;
  port: number;
}

export interface MultiHostUrl {
  /** The hosts, in the URL's order (which bankd never takes as a preference). */
  hosts: readonly HostPort[];
  /** What the URL asks for: the writable host, or (a replica's URL) a standby. */
  role: WantedRole;
  /** A single-host postgres:// URL for one of the hosts: the same user, password, database and
   * parameters, without the multi-host ones. */
  urlFor(host: HostPort): string;
}

export type MultiHostParse = { ok: true; value: MultiHostUrl | undefined } | { ok: false; problem: string };

const ROLE_OF: Record<string, WantedRole> = { "read-write": "primary", primary: "primary", standby: "standby" };
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$/;
const IPV6 = /^\[([0-9A-Fa-f:.]{2,45})\]$/;

/**
 * Reads `raw` (already known to start with postgres:// or postgresql://) as libpq's multi-host form.
 * Returns value undefined for a plain single-host URL without target_session_attrs (read as before,
 * by node-postgres itself), the parsed form when the URL names several hosts or asks for a role, or
 * a problem naming `name` (the environment variable) and what to change.
 */
export function parseMultiHostUrl(name: string, raw: string, opts: { roles: readonly WantedRole[] }): MultiHostParse {
  const fail = (problem: string): MultiHostParse => ({ ok: false, problem: `${name} ${problem}` });
  const scheme = raw.startsWith("postgresql://") ? "postgresql://" : "postgres://";
  const rest = raw.slice(scheme.length);
  // The authority ends at the first "/", "?" or "#"; the user information at its last "@".
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? "" : rest.slice(authorityEnd);
  const at = authority.lastIndexOf("@");
  const userinfo = at === -1 ? "" : authority.slice(0, at + 1);
  const hostList = authority.slice(at + 1);
  const queryStart = tail.indexOf("?");
  const hashStart = tail.indexOf("#");
  if (hashStart !== -1) return fail("has a #fragment, which a connection URL never has: remove it.");
  const query = new URLSearchParams(queryStart === -1 ? "" : tail.slice(queryStart + 1));
  const path = queryStart === -1 ? tail : tail.slice(0, queryStart);
  const items = hostList.split(",");
  const attrs = query.getAll("target_session_attrs");
  if (items.length === 1 && attrs.length === 0) return { ok: true, value: undefined };

  if (items.length > limits.dbHostsMax) return fail(`names ${items.length} hosts; at most ${limits.dbHostsMax} are supported.`);
  const hosts: HostPort[] = [];
  for (const item of items) {
    const parsed = parseHostPort(item);
    if (typeof parsed === "string") return fail(parsed);
    if (hosts.some((h) => h.host === parsed.host && h.port === parsed.port)) return fail(`names ${formatHost(parsed)} twice: list each host once.`);
    hosts.push(parsed);
  }
  for (const key of ["host", "hostaddr", "port"]) {
    if (query.has(key)) return fail(`sets ${key}= in its query next to its host list: name the hosts (host:port,host:port) before the /database only.`);
  }
  if (attrs.length > 1) return fail("sets target_session_attrs more than once: set it once.");
  const accepted = opts.roles.flatMap((r) => Object.keys(ROLE_OF).filter((k) => ROLE_OF[k] === r));
  const attr = attrs[0];
  if (attr === undefined) {
    return fail(`names ${hosts.length} hosts without target_session_attrs: add ?target_session_attrs=${accepted[0]} (bankd connects to the host that is ${opts.roles[0] === "standby" ? "a standby" : "writable"}, found by asking each).`);
  }
  const role = ROLE_OF[attr];
  if (role === undefined || !opts.roles.includes(role)) {
    return fail(`sets target_session_attrs=${JSON.stringify(attr).slice(1, -1)}, which bankd does not support here: use ${accepted.join(" or ")}.`);
  }
  const balance = query.getAll("load_balance_hosts");
  if (balance.some((b) => b !== "disable")) {
    return fail("sets load_balance_hosts, which bankd does not support: remove it (bankd asks every host and connects to the one that fits, whatever the order).");
  }
  if (!/^\/[^/]/.test(path)) return fail("names no database: add /DBNAME after the hosts.");
  // Every parameter but the multi-host ones travels to each host as it was written.
  const kept = new URLSearchParams();
  for (const [key, value] of query) if (key !== "target_session_attrs" && key !== "load_balance_hosts") kept.append(key, value);
  const suffix = kept.size > 0 ? `?${kept.toString()}` : "";
  const urlFor = (host: HostPort) => `${scheme}${userinfo}${formatHost(host)}${path}${suffix}`;
  for (const host of hosts) {
    try {
      const url = new URL(urlFor(host));
      if (url.pathname.length <= 1) return fail("names no database: add /DBNAME after the hosts.");
    } catch {
      return fail(`is not a valid postgres:// URL for host ${formatHost(host)}.`);
    }
  }
  return { ok: true, value: Object.freeze({ hosts: Object.freeze(hosts), role, urlFor }) };
}

/** "host:port", IPv6 in brackets. */
export function formatHost(h: HostPort): string {
  return `${h.host.includes(":") ? `[${h.host}]` : h.host}:${h.port}`;
}

function parseHostPort(item: string): HostPort | string {
  if (item === "") return "has an empty entry in its host list: write host:port,host:port.";
  let host: string;
  let port = "5432";
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(item);
  if (v6) {
    const m = IPV6.exec(v6[1]!);
    if (!m) return `has an invalid IPv6 address ${JSON.stringify(v6[1])} in its host list.`;
    host = m[1]!;
    if (v6[2] !== undefined) port = v6[2];
  } else {
    const colon = item.indexOf(":");
    host = colon === -1 ? item : item.slice(0, colon);
    if (colon !== -1) port = item.slice(colon + 1);
    if (host.startsWith("%2F") || host.startsWith("%2f") || host.startsWith("/")) return "has a socket directory in its host list: a multi-host URL names TCP hosts (host:port).";
    if (!NAME.test(host)) return `has an invalid host ${JSON.stringify(host.slice(0, 64))} in its host list.`;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `has an invalid port ${JSON.stringify(port.slice(0, 16))} for host ${host.slice(0, 64)}: use a number from 1 to 65535.`;
  return { host, port: Number(port) };
}
