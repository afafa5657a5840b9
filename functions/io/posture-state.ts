import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { POSTURE_FINDING_KINDS, type PostureFinding } from '../core/posture.js';
import { SEVERITIES } from '../core/severity.js';
import { AlerterError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** The posture item in the state table could not be read as one (written by hand, or by another version). */
class PostureStateError extends AlerterError {}

/** The item's key: `posture`, beside `alert#…`, `count#…` and `forwarders` in the same table (key `pk`). */
const KEY = { pk: { S: 'posture' } };

/** What the posture function remembers between runs. */
interface PostureRecord {
  /** The findings of the last run (or of the runs whose alerts went out), what the next run compares with. */
  findings: PostureFinding[];
  /** ISO 8601 time of that run's check. */
  checkedAt: string;
}

/** A detail longer than this is cut when stored: drift compares account and kind only; the detail is for people. */
const MAX_STORED_DETAIL = 500;

const isFinding = (value: unknown): value is PostureFinding => {
  const finding = value as Partial<PostureFinding> | null;
  return (
    typeof finding === 'object' &&
    finding !== null &&
    typeof finding.accountId === 'string' &&
    (POSTURE_FINDING_KINDS as readonly unknown[]).includes(finding.kind) &&
    (SEVERITIES as readonly unknown[]).includes(finding.severity) &&
    typeof finding.detail === 'string'
  );
};

/**
 * The posture function's memory in the state table (key `pk`): one item `posture` with `findings` (a JSON array
 * of PostureFinding, each detail cut to 500 characters) and `checkedAt`. No `expiresAt`: it lives until the next run
 * replaces it. One PutItem replaces it whole; runs are daily, and two at once (a manual invocation during the
 * scheduled one) would at worst both alert the same new finding.
 *
 * Every call rejects with the SDK's error when the table fails, throttles or does not answer.
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 *
 * const state = createDynamoPostureState(new DynamoDBClient({}), 'rootwatch-prod-state');
 * const previous = await state.load(); // undefined before the first run
 * await state.save({ findings: [], checkedAt: new Date().toISOString() });
 */
const createDynamoPostureState = (client: DynamoDBClient, tableName: string) => ({
  /**
   * The last saved record; undefined when there is none (the first run).
   *
   * @throws PostureStateError naming the table and what is wrong when the item is not a posture record.
   */
  async load(): Promise<PostureRecord | undefined> {
    const { Item } = await client.send(
      new (await sdk.dynamodb()).GetItemCommand({ TableName: tableName, Key: KEY, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const where = `${tableName}, item posture`;
    let findings: unknown;
    try {
      findings = JSON.parse(Item.findings?.S ?? '');
    } catch (error) {
      throw new PostureStateError(`${where}: findings is not JSON`, { cause: error });
    }
    if (!Array.isArray(findings)) throw new PostureStateError(`${where}: findings is not a list`);
    const bad = findings.findIndex((finding) => !isFinding(finding));
    if (bad >= 0) throw new PostureStateError(`${where}: findings[${bad}] is not a posture finding`);
    return { findings: findings as PostureFinding[], checkedAt: Item.checkedAt?.S ?? '' };
  },

  /** Replaces the record with `record`; `nowMs` (epoch ms) is kept as `savedAt`. */
  async save(record: PostureRecord, nowMs: number = Date.now()): Promise<void> {
    const findings = record.findings.map(({ accountId, kind, severity, detail }) => ({
      accountId,
      kind,
      severity,
      detail: detail.length > MAX_STORED_DETAIL ? `${detail.slice(0, MAX_STORED_DETAIL - 1)}…` : detail,
    }));
    await client.send(
      new (await sdk.dynamodb()).PutItemCommand({
        TableName: tableName,
        Item: {
          ...KEY,
          findings: { S: JSON.stringify(findings) },
          checkedAt: { S: record.checkedAt },
          savedAt: { N: String(nowMs) },
        },
      }),
    );
  },
});

export type { PostureRecord };
export { createDynamoPostureState };
