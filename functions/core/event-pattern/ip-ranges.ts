/** IP addresses as event-ruler reads them: IPv4 and IPv6 literals, CIDR blocks as ranges, range membership. */
import { fail } from './invalid-pattern.js';
import type { IpRange, JsonPath } from './types.js';

/** event-ruler's `[0-9a-fA-F:]*:[0-9a-fA-F:]*`, written so a long near-miss cannot backtrack quadratically. */
const IPV6_CHARS = /^[0-9a-fA-F:]+$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const JAVA_INT = /^[+-]?[0-9]+$/;

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

const toHex = (bytes: readonly number[]): string => {
  let hex = '';
  for (const byte of bytes) hex += HEX_BYTES[byte] as string;
  return hex;
};

const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * Reads event-ruler's IPv4 shape, four dot-separated runs of digits, in one pass (this runs on every
 * string a cidr field sees): undefined if `text` is not that shape, `invalid` if an octet exceeds 255.
 * Octets are decimal, leading zeros and all, as Java's InetAddress reads them.
 */
const parseIpv4 = (text: string): number[] | 'invalid' | undefined => {
  const octets: number[] = [];
  let octet = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : DOT;
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      octet = Math.min(octet * 10 + code - DIGIT_0, 256);
      digits++;
    } else if (code === DOT && digits > 0 && octets.length < 4) {
      octets.push(octet);
      octet = 0;
      digits = 0;
    } else return undefined;
  }
  if (octets.length !== 4) return undefined;
  return octets.every((value) => value <= 255) ? octets : 'invalid';
};

const parseIpv6Groups = (text: string): number[] | undefined => {
  if (text === '') return [];
  const groups = text.split(':');
  if (!groups.every((group) => IPV6_GROUP.test(group))) return undefined;
  return groups.map((group) => Number.parseInt(group, 16));
};

const parseIpv6 = (text: string): number[] | undefined => {
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return undefined;
  const head = parseIpv6Groups(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : parseIpv6Groups(text.slice(gap + 2));
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (gap === -1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<number>(gap === -1 ? 0 : missing).fill(0), ...tail];
  const bytes = groups.flatMap((group) => [group >> 8, group & 0xff]);
  // Java's InetAddress turns an IPv4-mapped IPv6 address into the IPv4 address.
  const mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
};

/**
 * The address bytes of an IP literal: `nonstandard` when it does not even look like one, `invalid`
 * when it looks like one but is not (event-ruler distinguishes the two in its messages).
 */
const parseIp = (text: string): number[] | 'nonstandard' | 'invalid' => {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) return ipv4;
  if (text.includes(':') && IPV6_CHARS.test(text)) return parseIpv6(text) ?? 'invalid';
  return 'nonstandard';
};

/** The hex form of an IP literal, or undefined for any other string. */
const ipHex = (text: string): string | undefined => {
  const bytes = parseIp(text);
  return typeof bytes === 'string' ? undefined : toHex(bytes);
};

/** Java's String.split drops trailing empty strings; AWS's CIDR messages depend on it. */
const javaSplit = (text: string, separator: string): string[] => {
  if (!text.includes(separator)) return [text];
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
};

/** The bytes of an address with its host bits (all but the first `mask` bits) cleared or set. */
const withHostBits = (bytes: readonly number[], mask: number, set: boolean): number[] => {
  const hostBits = bytes.length * 8 - mask;
  return bytes.map((byte, index) => {
    const bitsInByte = Math.min(8, Math.max(0, hostBits - (bytes.length - 1 - index) * 8));
    const hostMask = (1 << bitsInByte) - 1;
    return set ? byte | hostMask : byte & ~hostMask & 0xff;
  });
};

/** A CIDR block as an inclusive range. As in event-ruler, a full-length mask (/32, /128) is rejected. */
const parseCidr = (text: string, at: JsonPath): IpRange => {
  const parts = javaSplit(text, '/');
  if (parts.length !== 2) fail("Malformed CIDR, one '/' required", at);
  const [address = '', maskText = ''] = parts;
  const mask = JAVA_INT.test(maskText) ? Number(maskText) : Number.NaN;
  if (!Number.isSafeInteger(mask) || Math.abs(mask) > 2 ** 31) fail('Malformed CIDR, mask bits must be an integer', at);
  if (mask < 0) fail('Malformed CIDR, mask bits must not be negative', at);
  const bytes = parseIp(address);
  if (bytes === 'nonstandard') return fail(`Nonstandard IP address: ${address}`, at);
  if (bytes === 'invalid') return fail(`Invalid IP address: ${address}`, at);
  if (bytes.length === 4 && mask > 31) fail('IPv4 mask bits must be < 32', at);
  if (bytes.length === 16 && mask > 127) fail('IPv6 mask bits must be < 128', at);
  return { bottom: toHex(withHostBits(bytes, mask, false)), top: toHex(withHostBits(bytes, mask, true)) };
};

/** Whether an address, in hex, lies in the range; an IPv4 address is never in an IPv6 range, nor the reverse. */
const inIpRange = (hex: string, range: IpRange): boolean =>
  hex.length === range.bottom.length && hex >= range.bottom && hex <= range.top;

export { inIpRange, ipHex, parseCidr };
