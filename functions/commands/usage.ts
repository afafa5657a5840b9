/*
 * The usage text of the commands whose modules load AWS SDK clients (deploy, remove, forwarders), apart from those
 * modules: `rootwatch --help` prints it without loading the SDK, and the commands print it on their own usage errors.
 */

/** `rootwatch deploy` and `rootwatch remove`, as printed under "Usage:". */
const DEPLOY_USAGE = `  rootwatch deploy --stage S (--all-regions | --regions R,R…) [--region HOME] [--param NAME=VALUE]…
                   [--profile P] [--hub-only | --forwarders-only --hub-bus-arn ARN [--hub-key-arn ARN]]
                   [--dry-run]
      Deploys the hub (serverless deploy, in HOME: default us-east-1) and the forwarder stack
      rootwatch-S-forwarder in every other region, 4 at a time. --all-regions: the account's enabled
      regions (Account Management ListRegions, needs account:ListRegions). --param goes to the hub and
      sets the forwarders' rules alike. --hub-only: the hub alone. --forwarders-only: forwarders in every
      region named, HOME included, to the hub bus --hub-bus-arn (an Organization's management account;
      --hub-key-arn: the hub's AlertTopicKeyArn, as for forwarder-template).
      --dry-run prints the plan and changes nothing.
  rootwatch remove --stage S (--all-regions | --regions R,R…) [--region HOME] [--profile P]
                   [--forwarders-only] [--dry-run]
      Deletes the forwarder stacks, then the hub (serverless remove) unless --forwarders-only.
      Credentials from the AWS SDK's chain (AWS_PROFILE, --profile, SSO, environment, instance role).
      Exit status: 0 when every stack is done, 1 when any failed, 2 on bad usage or parameters.`;

/** `rootwatch forwarders`, as printed under "Usage:". */
const FORWARDERS_USAGE = `  rootwatch forwarders --stage S [--region R] [--profile P] [--heartbeat-minutes N]
                       [--account-names FILE] [--format table|json]
  rootwatch forwarders --stage S --forget ACCOUNT:REGION [--region R] [--profile P]
      Lists every forwarder the hub of stage S watches (read from rootwatch-S-state in the hub's region): its
      account and region, its last heartbeat, and whether it is silent (no heartbeat for more than two
      periods of --heartbeat-minutes, the stage's heartbeatMinutes, default 10). --forget stops watching a
      forwarder removed on purpose. Needs the operator role rootwatch-S-operator (--profile).
      Exit status: 0 when no forwarder is silent (or it was forgotten), 1 when one is (or none was
      forgotten, or the table could not be read), 2 on bad usage.`;

/** `rootwatch athena`, as printed under "Usage:". */
const ATHENA_USAGE = `  rootwatch athena [--since D] [--until D] [--accounts A,B] [--regions R,S] [--table T]
                   [--detections DIR] [--config FILE] [--param NAME=VALUE]… [--allow-partial]
                   [--dialect athena|duckdb]
      Prints the catalog as one Athena (Trino) SQL query over AWS's CloudTrail table: one row per matching
      event, its columns, rootwatch_detections (ids) and rootwatch_severity (stateless modifiers only; a
      header names what is left to replay). --since/--until/--accounts/--regions become partition and
      eventtime predicates. A pattern branch SQL cannot test is named on stderr and no query is printed
      (exit 1) unless --allow-partial. --dialect duckdb: the same query for a local DuckDB table.
  rootwatch athena --ddl --bucket B --regions R,S [--prefix P] [--organization o-xxx] [--accounts A,B]
                   [--table T] [--since-year Y]
      Prints the CREATE EXTERNAL TABLE (AWS's columns, partition projection on account, region and day)
      for the trail's bucket; without --accounts the account partition is injected (queries then name
      --accounts). Exit status: 0; 1 as above; 2 on bad usage.
  rootwatch athena --run [the query's flags above] [--workgroup W] [--output-location s3://BUCKET/PREFIX/]
                   [--database D] [--region R] [--profile P]
                   [--format table|ndjson|json|slack|email] [--min-severity S] [--no-fold | --sessions]
                   [--account-names FILE]
      Runs the query on Athena (work group W, default primary) and prints its rows as replay prints
      alerts; progress and the data scanned on stderr. Exit status: 0; 1 when the query failed or was
      cancelled (its reason on stderr) or a row could not be read; 2 on bad usage or when Athena refuses
      to start the query; 130 on Ctrl-C (the query is stopped).`;

/** `rootwatch expect`, as printed under "Usage:". */
const EXPECT_USAGE = `  rootwatch expect --stage S --account A --for DURATION --reason TEXT [--detections ID,ID…]
                   [--region R] [--profile P]
  rootwatch expect --stage S --list [--account A] [--format table|json] [--region R] [--profile P]
  rootwatch expect --stage S --end ID [--region R] [--profile P]
      Declares a break-glass window: root use expected in account A for DURATION (90m, 2h, 1h30m; at
      most 24h) for REASON (at most 200 characters). Alerts of A inside it are still delivered, marked
      expected and one severity step lower (only for --detections when given); root-access-key-created,
      root's MFA deactivated, audit-trail-tampering and alerter-tampering keep their severity. Recorded
      in rootwatch-S-state (the hub's region) with the caller's ARN, and announced in Slack and e-mail;
      a window that cannot be announced is ended at once. --list: active windows and those ended in
      the last 7 days; --end: ends one early (recorded, announced). Needs the operator role
      rootwatch-S-operator (--profile). Exit status: 0 done, 1 when AWS or the window failed, 2 on bad usage.`;

/** `rootwatch posture`, as printed under "Usage:". */
const POSTURE_USAGE = `  rootwatch posture [--format table|json] [--root-email-domains A,B] [--audit-role NAME]
                    [--profile P] [--region R] [--concurrency N]
      Prints every account's root posture with the caller's credentials (an Organization's management
      account or delegated administrator, else the one account): root e-mail and its domain (personal
      webmail called out; --root-email-domains: the company's, subdomains included), root MFA, access
      keys, signing certificates and password (members through sts:AssumeRoot with
      IAMAuditRootUserCredentials, else the role --audit-role; the caller's own account through
      GetAccountSummary), the security alternate contact, and centralized root access. Findings are
      marked; an account that could not be read is listed with why. --concurrency: accounts read at
      once (default 8, 1 to 32). Exit status: 0 when nothing is wrong, 1 when a finding exists or an
      account could not be read, 2 on bad usage.`;

export { ATHENA_USAGE, DEPLOY_USAGE, EXPECT_USAGE, FORWARDERS_USAGE, POSTURE_USAGE };
