import { isIP } from 'node:net';

/** An address as a number, IPv4-mapped IPv6 already turned into IPv4, with the text mmdb-lib reads. */
type Address = { family: 4; value: number; text: string } | { family: 6; value: bigint; text: string };

const ipv4ValueOf = (text: string): number =>
  text.split('.').reduce((value, part) => value * 256 + Number.parseInt(part, 10), 0);

const ipv4TextOf = (value: number): string =>
  [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');

const hextetsOf = (groups: string): number[] =>
  groups === ''
    ? []
    : groups.split(':').flatMap((group) => {
        if (!group.includes('.')) return [Number.parseInt(group, 16)];
        const value = ipv4ValueOf(group); // "::ffff:192.0.2.1": the last 32 bits written as IPv4
        return [Math.floor(value / 0x10000), value & 0xffff];
      });

/** Expects text node:net has already accepted as IPv6, zone removed. */
const ipv6ValueOf = (text: string): bigint => {
  const [head = '', tail] = text.split('::');
  const left = hextetsOf(head);
  const right = tail === undefined ? [] : hextetsOf(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right].reduce((value, group) => (value << 16n) | BigInt(group), 0n);
};

const MAPPED_IPV4 = 0xffff_0000_0000n; // ::ffff:0:0/96
const LOW_32 = 0xffff_ffffn;

/** The address an IP string names, or undefined when it is not an IP address. */
const addressOf = (ip: string): Address | undefined => {
  const text = ip.trim().replace(/%.*$/, ''); // a zone id ("fe80::1%eth0") names a local interface
  const family = isIP(text);
  if (family === 4) return { family: 4, value: ipv4ValueOf(text), text };
  if (family !== 6) return undefined;
  const value = ipv6ValueOf(text);
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; the databases index them as IPv4.
  if (value >> 32n === MAPPED_IPV4 >> 32n) {
    const v4 = Number(value & LOW_32);
    return { family: 4, value: v4, text: ipv4TextOf(v4) };
  }
  return { family: 6, value, text };
};

const rangeOf4 = (cidr: string): [number, number] => {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipv4ValueOf(base);
  return [start, start + size - 1];
};

const rangeOf6 = (cidr: string): [bigint, bigint] => {
  const [base = '', bits = '128'] = cidr.split('/');
  const size = 1n << BigInt(128 - Number(bits));
  const start = ipv6ValueOf(base);
  return [start, start + size - 1n];
};

/**
 * IANA special-purpose ranges (RFC 6890 and successors): private, shared CGNAT, loopback, link-local,
 * documentation, benchmarking, multicast, reserved. No database can place them, and looking one up
 * must not cost a database load.
 */
const RESERVED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
].map(rangeOf4);

/**
 * Global unicast is 2000::/3; everything outside it (loopback, ULA fc00::/7, link-local fe80::/10,
 * multicast, NAT64, discard) is not a place. Inside it: IETF protocol assignments (Teredo, ORCHID,
 * benchmarking), 6to4, and both documentation prefixes.
 */
const RESERVED_V6 = ['::/3', '4000::/2', '8000::/1', '2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20'].map(
  rangeOf6,
);

/** Whether an address lies outside every reserved range. */
const isPublic = (address: Address): boolean =>
  address.family === 4
    ? !RESERVED_V4.some(([start, end]) => address.value >= start && address.value <= end)
    : !RESERVED_V6.some(([start, end]) => address.value >= start && address.value <= end);

/**
 * Whether an address is public: a real address outside the special-purpose ranges. False for
 * anything that is not an IP address ("AWS Internal", a service hostname).
 *
 * @example
 * isPublicAddress('8.8.8.8'); // true
 * isPublicAddress('192.0.2.1'); // false (documentation)
 */
const isPublicAddress = (ip: string): boolean => {
  const address = addressOf(ip);
  return address !== undefined && isPublic(address);
};

export type { Address };
export { addressOf, isPublic, isPublicAddress };
