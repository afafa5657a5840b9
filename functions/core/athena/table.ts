/**
 * AWS's CloudTrail table for Athena: its columns (one list for the DDL, the DuckDB test table, the compiler and the row
 * reader) and the CREATE EXTERNAL TABLE with partition projection for a trail's bucket.
 *
 * The columns, their order and their types are those of "Create the table for CloudTrail logs in Athena using
 * partition projection" (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html),
 * the same list as "Query AWS CloudTrail logs" (https://docs.aws.amazon.com/athena/latest/ug/cloudtrail-logs.html).
 * AWS's page projects one account and one region (`timestamp` alone); an organization's trail
 * (`AWSLogs/o-ORG/ACCOUNT/CloudTrail/REGION/yyyy/MM/dd/`) projects `account` and `region` too, as AWS's sample for
 * organization trails does (aws-samples: account `injected`, region `enum`): see cloudTrailTableDdl.
 *
 * Pure: no I/O.
 */
import { quoteString } from './dialect.js';

/**
 * How a column (or a struct field) holds its part of a record:
 * - `text`: a JSON scalar as text (a string; `boolean` for readOnly, which CloudTrail writes as true/false);
 * - `json`: the JSON text of an object (requestParameters and the like), as CloudTrail's SerDe gives it;
 * - `struct`: the object's fields, by name; `array`: an array of such structs; `map`: string to string.
 */
type ColumnType =
  | { readonly kind: 'text'; readonly json?: 'boolean' }
  | { readonly kind: 'json' }
  | { readonly kind: 'struct'; readonly fields: readonly Column[] }
  | { readonly kind: 'array'; readonly of: ColumnType }
  | { readonly kind: 'map' };

/** A column or struct field: its SQL name (lower case, as in the DDL) and the CloudTrail record key it holds. */
interface Column {
  readonly name: string;
  readonly field: string;
  readonly type: ColumnType;
}

const TEXT: ColumnType = { kind: 'text' };
const JSON_TEXT: ColumnType = { kind: 'json' };

/** A column whose SQL name is its record key in lower case. */
const column = (field: string, type: ColumnType = TEXT): Column => ({ name: field.toLowerCase(), field, type });
const struct = (...fields: Column[]): ColumnType => ({ kind: 'struct', fields });

/** The table's data columns, in the DDL's order (AWS's page, cited above). */
const CLOUDTRAIL_COLUMNS: readonly Column[] = [
  column('eventVersion'),
  column(
    'userIdentity',
    struct(
      column('type'),
      column('principalId'),
      column('arn'),
      column('accountId'),
      column('invokedBy'),
      column('accessKeyId'),
      column('userName'),
      column('onBehalfOf', struct(column('userId'), column('identityStoreArn'))),
      column(
        'sessionContext',
        struct(
          column('attributes', struct(column('mfaAuthenticated'), column('creationDate'))),
          column(
            'sessionIssuer',
            struct(column('type'), column('principalId'), column('arn'), column('accountId'), column('userName')),
          ),
          column('ec2RoleDelivery'),
          column('webIdFederationData', struct(column('federatedProvider'), column('attributes', { kind: 'map' }))),
        ),
      ),
    ),
  ),
  column('eventTime'),
  column('eventSource'),
  column('eventName'),
  column('awsRegion'),
  column('sourceIPAddress'),
  column('userAgent'),
  column('errorCode'),
  column('errorMessage'),
  column('requestParameters', JSON_TEXT),
  column('responseElements', JSON_TEXT),
  column('additionalEventData', JSON_TEXT),
  column('requestID'),
  column('eventID'),
  column('readOnly', { kind: 'text', json: 'boolean' }),
  column('resources', { kind: 'array', of: struct(column('ARN'), column('accountId'), column('type')) }),
  column('eventType'),
  column('apiVersion'),
  column('recipientAccountId'),
  column('serviceEventDetails', JSON_TEXT),
  column('sharedEventID'),
  column('vpcEndpointId'),
  column('vpcEndpointAccountId'),
  column('eventCategory'),
  column(
    'addendum',
    struct(column('reason'), column('updatedFields'), column('originalRequestID'), column('originalEventID')),
  ),
  column('sessionCredentialFromConsole'),
  column('edgeDeviceDetails', JSON_TEXT),
  column('tlsDetails', struct(column('tlsVersion'), column('cipherSuite'), column('clientProvidedHostHeader'))),
];

/**
 * The projected partition columns, all strings, in the DDL's order: `account` and `region` from the key layout
 * (`AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/`), `timestamp` the day folder, `yyyy/MM/dd` (AWS's name and format).
 */
const PARTITION_COLUMNS = ['account', 'region', 'timestamp'] as const;

/** Hive's spelling of a type, as the DDL writes it. */
const hiveType = (type: ColumnType): string => {
  switch (type.kind) {
    case 'text':
    case 'json':
      return 'STRING';
    case 'map':
      return 'MAP<STRING,STRING>';
    case 'array':
      return `ARRAY<${hiveType(type.of)}>`;
    case 'struct':
      return `STRUCT<${type.fields.map((field) => `${field.name}: ${hiveType(field.type)}`).join(', ')}>`;
  }
};

/** What `rootwatch athena --ddl` is given. */
interface TableOptions {
  /** The trail's bucket name (no `s3://`). */
  readonly bucket: string;
  /** The trail's key prefix, without slashes at either end; undefined for none. */
  readonly prefix?: string;
  /** `o-xxxxxxxxxx` for an organization trail: its logs sit under `AWSLogs/o-ORG/ACCOUNT/`. */
  readonly organization?: string;
  /** The table's name, `database.table` or `table` (default cloudtrail_logs). */
  readonly table: string;
  /** The first day projected, `yyyy/MM/dd`. */
  readonly since: string;
  /** The accounts projected (`enum`); undefined: `injected`, every query then names its accounts. */
  readonly accounts?: readonly string[];
  /** The regions projected (`enum`). */
  readonly regions: readonly string[];
}

/** Bucket names: 3-63 of lower-case letters, digits, dots and hyphens (S3's rules, loosely). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/**
 * One folder of a key prefix: letters, digits, `-`, `_` and `.`, a subset of S3's safe characters
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: `!`, `*`, `'`, `(` and `)` are safe in S3
 * but not taken here: `*` reads as a wildcard and the others are rare in a trail's prefix). `.` and `..` alone are
 * refused: S3 keeps them as literal key parts, which tools that treat keys as paths read as a different folder; a
 * trail never writes them.
 */
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;
/** CloudTrail's S3KeyPrefix is at most 200 characters (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html). */
const PREFIX_MAX_CHARS = 200;
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;
/** `db.table` or `table`: letters, digits and underscores (Athena's names). */
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/;
const DAY = /^\d{4}\/\d{2}\/\d{2}$/;

/**
 * The table's name as DML and DDL write it: each part in backquotes for the DDL (Hive), double quotes for queries.
 *
 * @throws Error when the name is not `table` or `db.table` of letters, digits and underscores.
 */
const tableName = (name: string, quote: '`' | '"'): string => {
  if (!TABLE_NAME.test(name)) {
    throw new Error(`table name "${name}" is not table or database.table (letters, digits, underscores)`);
  }
  return name
    .split('.')
    .map((part) => `${quote}${part}${quote}`)
    .join('.');
};

/** What is wrong with a key prefix (without its end slashes), or undefined when it fits. */
const prefixProblem = (prefix: string): string | undefined => {
  if (prefix.length > PREFIX_MAX_CHARS) return `longer than ${PREFIX_MAX_CHARS} characters (CloudTrail's limit)`;
  const rule = 'a prefix is folder names of letters, digits, - _ and . separated by single slashes';
  for (const segment of prefix.split('/')) {
    if (segment === '') return `has an empty folder (an empty prefix, or two slashes together): ${rule}`;
    if (segment === '.' || segment === '..') return `has a "${segment}" folder: ${rule}`;
    if (!PREFIX_SEGMENT.test(segment)) return `has a character other than letters, digits, - _ . and /: ${rule}`;
  }
  return undefined;
};

/**
 * Each problem with the options, as a message naming the flag; empty when they can go into the DDL. Values are checked
 * by shape (not escaped into a different meaning): a bucket, prefix or list that does not fit is refused.
 */
const tableOptionProblems = (options: TableOptions): string[] => {
  const problems: string[] = [];
  if (!BUCKET.test(options.bucket)) problems.push(`--bucket "${options.bucket}" is not an S3 bucket name`);
  if (options.prefix !== undefined) {
    const problem = prefixProblem(options.prefix);
    if (problem) problems.push(`--prefix ${JSON.stringify(options.prefix.slice(0, PREFIX_MAX_CHARS + 1))}: ${problem}`);
  }
  if (options.organization !== undefined && !ORGANIZATION.test(options.organization)) {
    problems.push(`--organization "${options.organization}" is not an organization id (o-xxxxxxxxxx)`);
  }
  if (!TABLE_NAME.test(options.table)) problems.push(`--table "${options.table}" is not table or database.table`);
  if (!DAY.test(options.since)) problems.push(`the first day "${options.since}" is not yyyy/MM/dd`);
  if (options.regions.length === 0) problems.push('--regions: the table projects the regions it is given: name them');
  return problems;
};

/**
 * The CREATE EXTERNAL TABLE for a trail's logs with partition projection: AWS's columns, SerDe and input format
 * (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html), partitioned by
 * `account`, `region` and `timestamp` over `s3://BUCKET/[PREFIX/]AWSLogs/[o-ORG/]${account}/CloudTrail/${region}/
 * ${timestamp}` (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html). `account` is
 * `enum` over `accounts`, or `injected` without them (AWS's sample for organization trails does this: then every query
 * must name its accounts, `rootwatch athena --accounts`); `region` is `enum` over `regions`; `timestamp` is a date from
 * `since` to NOW, one day at a time.
 *
 * @throws Error listing every problem tableOptionProblems finds (the command reports them as a usage error).
 * @example
 * cloudTrailTableDdl({ bucket: 'org-trail', organization: 'o-abcdefghij', table: 'cloudtrail_logs', since: '2024/01/01',
 *   regions: ['us-east-1', 'eu-west-1'] });
 * // 'CREATE EXTERNAL TABLE `cloudtrail_logs` (\n  `eventversion` STRING, …'
 */
const cloudTrailTableDdl = (options: TableOptions): string => {
  const problems = tableOptionProblems(options);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const root = [
    options.bucket,
    ...(options.prefix ? [options.prefix] : []),
    'AWSLogs',
    ...(options.organization ? [options.organization] : []),
  ].join('/');
  const location = `s3://${root}/`;
  const template = `${location}\${account}/CloudTrail/\${region}/\${timestamp}`;
  const properties: [string, string][] = [
    ['projection.enabled', 'true'],
    ...(options.accounts === undefined
      ? ([['projection.account.type', 'injected']] as [string, string][])
      : ([
          ['projection.account.type', 'enum'],
          ['projection.account.values', options.accounts.join(',')],
        ] as [string, string][])),
    ['projection.region.type', 'enum'],
    ['projection.region.values', options.regions.join(',')],
    ['projection.timestamp.type', 'date'],
    ['projection.timestamp.format', 'yyyy/MM/dd'],
    ['projection.timestamp.interval', '1'],
    ['projection.timestamp.interval.unit', 'DAYS'],
    ['projection.timestamp.range', `${options.since},NOW`],
    ['storage.location.template', template],
  ];
  const columns = CLOUDTRAIL_COLUMNS.map((c) => `  \`${c.name}\` ${hiveType(c.type)}`).join(',\n');
  return [
    `CREATE EXTERNAL TABLE ${tableName(options.table, '`')} (`,
    columns,
    ')',
    `PARTITIONED BY (${PARTITION_COLUMNS.map((name) => `\`${name}\` STRING`).join(', ')})`,
    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
    "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    `LOCATION ${quoteString(location)}`,
    'TBLPROPERTIES (',
    properties.map(([key, value]) => `  ${quoteString(key)}=${quoteString(value)}`).join(',\n'),
    ');',
  ].join('\n');
};

export type { Column, ColumnType, TableOptions };
export { CLOUDTRAIL_COLUMNS, cloudTrailTableDdl, PARTITION_COLUMNS, tableName, tableOptionProblems };
