import { BlockList, isIP } from 'node:net';

// IP access lists: IPv4 and IPv6 addresses or CIDR blocks. An empty list admits everyone.

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, `x::y` or `x::y/n`; null when it is not one of those. */
export function parseCidr(text: string): Cidr | null {
  const [addr, prefixText, ...rest] = text.trim().split('/');
  if (addr === undefined || rest.length > 0) return null;
  const version = isIP(addr);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > max) return null;
  }
  return { address: addr, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The canonical text of a CIDR entry (always with a prefix), or null when invalid. */
export function normalizeCidr(text: string): string | null {
  const c = parseCidr(text);
  return c ? `${c.address}/${c.prefix}` : null;
}

/** The caller's address as the access list compares it: IPv4-mapped IPv6 becomes IPv4. */
export function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}

export function isAllowed(ip: string, accessList: readonly string[]): boolean {
  if (accessList.length === 0) return true;
  const address = normalizeIp(ip);
  const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : null;
  if (family === null) return false;
  return blockListOf(accessList).check(address, family);
}

// A credential's list arrives with its cached principal, so each list is parsed once, not on
// every request.
const blockLists = new WeakMap<readonly string[], BlockList>();
function blockListOf(accessList: readonly string[]): BlockList {
  let list = blockLists.get(accessList);
  if (list === undefined) {
    list = new BlockList();
    for (const entry of accessList) {
      const c = parseCidr(entry);
      if (c) list.addSubnet(c.address, c.prefix, c.family);
    }
    blockLists.set(accessList, list);
  }
  return list;
}
