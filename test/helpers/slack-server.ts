// The local Slack webhook lives with the demo, which uses it too.

export type { SlackReply, SlackRequest, SlackResponseSpec, SlackServer } from '../../functions/io/local-slack.js';
export { startSlackServer } from '../../functions/io/local-slack.js';
