/*
 * Hub and forwarders: the names and markers the hub stack (serverless.yml, resources/event-rules.cjs,
 * resources/heartbeat.cjs), the forwarder template (functions/deploy/forwarder-template.ts), the deploy command and
 * the alert function share, so that none of them restates another.
 *
 * The hub is the full stack, in a home region of the security (or log-archive) account: its rules listen on its own
 * default bus and on the hub bus, where forwarders put what their rules matched. A forwarder, in every other region of
 * that account and in every member account's regions, holds the same rules (generated from the same catalog) with the
 * hub bus as their target, and a heartbeat of its own that travels the same way.
 */

/**
 * An AWS region name's shape: `us-east-1`, `ap-southeast-5`, `us-gov-west-1`, `eu-isoe-west-1`, and `eusc-de-east-1`
 * (the European Sovereign Cloud's, whose first part has 4 letters). A shape only: functions/deploy/regions.ts checks
 * a name against the account's regions.
 */
const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;
/** A 12-digit AWS account id. */
const ACCOUNT_ID = /^\d{12}$/;

/** The hub's custom event bus, `rootwatch-<stage>-hub`. */
const hubBusName = (stage: string): string => `rootwatch-${stage}-hub`;

/** The hub's CloudFormation stack, as the Serverless Framework names it: `rootwatch-<stage>`. */
const hubStackName = (stage: string): string => `rootwatch-${stage}`;

/** A forwarder's CloudFormation stack in each region it is deployed to: `rootwatch-<stage>-forwarder`. */
const forwarderStackName = (stage: string): string => `rootwatch-${stage}-forwarder`;

/**
 * The forwarders' IAM role name before the region (`rootwatch-<stage>-forwarder-<region>`): IAM names are global to an
 * account and a StackSet puts one forwarder per region in each account. The hub bus policy admits roles of this name.
 */
const forwarderRolePrefix = (stage: string): string => `rootwatch-${stage}-forwarder-`;

/**
 * `detail.origin` of a forwarder's heartbeat: the hub counts it per account and region (FORWARDER_METRIC) rather than
 * relaying it to its topic and Slack queue, which its own heartbeat already proves.
 */
const FORWARDER_ORIGIN = 'forwarder';

/**
 * One data point per forwarder heartbeat the hub received (embedded metric format), with the dimensions `service`
 * (rootwatch), `stage`, `account` and `region` of the forwarder; the per-forwarder alarms watch it.
 */
const FORWARDER_METRIC = { namespace: 'rootwatch', service: 'rootwatch', name: 'ForwarderHeartbeat' } as const;

/**
 * The stage a hub bus ARN belongs to: `arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub` → `prod`;
 * undefined when the ARN does not name a rootwatch hub bus.
 */
const stageOfHubBusArn = (arn: string): string | undefined =>
  /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/rootwatch-([A-Za-z0-9-]+)-hub$/.exec(arn)?.[1];

export {
  ACCOUNT_ID,
  FORWARDER_METRIC,
  FORWARDER_ORIGIN,
  forwarderRolePrefix,
  forwarderStackName,
  hubBusName,
  hubStackName,
  REGION_NAME,
  stageOfHubBusArn,
};
