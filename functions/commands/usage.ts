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

export { DEPLOY_USAGE, FORWARDERS_USAGE };
