// The local AWS stand-ins live with the demo, which uses them too.

export type { LocalAws } from '../../functions/io/local-aws.js';
export { publishedOf, sqsEventOf, startLocalAws } from '../../functions/io/local-aws.js';
