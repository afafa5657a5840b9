import { groupDigits } from '../core/render/text.js';
import {
  buildForwarderTemplate,
  countRules,
  postureAuditRoleName,
  TEMPLATE_BODY_MAX_BYTES,
  templateBodyBytes,
} from '../deploy/forwarder-template.js';
import { readStageParameters } from '../deploy/stage-parameters.js';

/** What `rootwatch forwarder-template` was asked for, its flags checked by the command line. */
interface ForwarderTemplateCommand {
  /** The hub's stage: the one in the hub bus's name. */
  stage: string;
  hubBusArn: string;
  hubKeyArn?: string;
  /** The hub's posture function role: the template then holds the members' read-only posture audit role. */
  postureRoleArn?: string;
  /** `--param NAME=VALUE`, over serverless.yml's parameters for the stage. */
  params: readonly string[];
  /** One line of JSON instead of 2-space indented. */
  compact: boolean;
  /** Where serverless.yml is (default: this repository). */
  serviceDir?: string;
}

/** Where the command writes: the template to stdout, a summary (or why the template will not fit) to stderr. */
interface ForwarderTemplateIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream;
}

const bytes = (count: number): string => `${groupDigits(count)} bytes`;

/**
 * Prints the forwarder's CloudFormation template for the stage (buildForwarderTemplate, with the parameters
 * readStageParameters reads from serverless.yml and `params`) as JSON on stdout, and on stderr one line saying what it
 * holds and how big it is as compact JSON.
 *
 * @returns 0; or 1 when the template as compact JSON is over CloudFormation's TemplateBody limit (it is printed all
 *   the same: upload it to S3 and give its URL, --template-url, instead).
 * @throws ConfigError (a bad parameter, hub bus or key ARN), DetectionFileError (a bad detection file).
 * @example
 * const code = runForwarderTemplate(
 *   { stage: 'prod', hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub', params: [], compact: true },
 *   { stdout: (text) => process.stdout.write(text), stderr: process.stderr },
 * );
 */
const runForwarderTemplate = (command: ForwarderTemplateCommand, io: ForwarderTemplateIo): number => {
  const { values, heartbeatMinutes } = readStageParameters(command.stage, command.params, command.serviceDir);
  const template = buildForwarderTemplate({
    stage: command.stage,
    hubBusArn: command.hubBusArn,
    ...(command.hubKeyArn ? { hubKeyArn: command.hubKeyArn } : {}),
    ...(command.postureRoleArn === undefined ? {} : { postureRoleArn: command.postureRoleArn }),
    values,
    heartbeatMinutes,
  });
  io.stdout(`${command.compact ? JSON.stringify(template) : JSON.stringify(template, null, 2)}\n`);

  const rules = countRules(template);
  const compactBytes = templateBodyBytes(template);
  io.stderr.write(
    `rootwatch: forwarder for stage ${command.stage}: ${rules} rules (the heartbeat's included) forwarding to ${command.hubBusArn}, a heartbeat every ${heartbeatMinutes} minutes${command.postureRoleArn ? `, and the role ${postureAuditRoleName(command.stage)} for the posture check` : ''}; ${bytes(compactBytes)} as compact JSON (TemplateBody takes ${bytes(TEMPLATE_BODY_MAX_BYTES)}${command.compact ? '' : ': pass --compact for a file to give as TemplateBody'})\n`,
  );
  if (compactBytes > TEMPLATE_BODY_MAX_BYTES) {
    io.stderr.write(
      `rootwatch: the template is over CloudFormation's TemplateBody limit even as compact JSON: upload it to S3 and give its URL (--template-url), or give fewer trail buckets, keys or log groups\n`,
    );
    return 1;
  }
  return 0;
};

export type { ForwarderTemplateCommand };
export { runForwarderTemplate };
