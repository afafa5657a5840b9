import { isIP } from 'node:net';

/** Where a call came from, as CloudTrail's sourceIPAddress says: an address, or AWS itself. */
interface SourceAddress {
  ip?: string;
  kind?: 'aws-service' | 'aws-internal';
}

/** `cloudformation.amazonaws.com`, `ec2.us-east-1.amazonaws.com`, the China partition's `.amazonaws.com.cn`. */
const AWS_SERVICE_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/i;

/**
 * Splits CloudTrail's sourceIPAddress, which holds an IP address for calls from the internet and a
 * service hostname or "AWS Internal" when AWS made the call on someone's behalf. Anything else
 * (absent, garbage) gives `{}`: no fact is better than a wrong one.
 *
 * @example
 * classifySourceAddress('203.0.113.7'); // { ip: '203.0.113.7' }
 * classifySourceAddress('cloudformation.amazonaws.com'); // { kind: 'aws-service' }
 */
const classifySourceAddress = (sourceIPAddress: string | null | undefined): SourceAddress => {
  const text = (sourceIPAddress ?? '').trim();
  if (text === '') return {};
  if (isIP(text) !== 0) return { ip: text };
  if (/^AWS Internal$/i.test(text)) return { kind: 'aws-internal' };
  if (AWS_SERVICE_HOST.test(text)) return { kind: 'aws-service' };
  return {};
};

export { classifySourceAddress };
