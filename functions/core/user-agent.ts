import Bowser from 'bowser';

/** Longest label describeClient returns: it lands in a Slack line and an e-mail subject, both narrow. */
const MAX_LABEL = 60;

/**
 * Tools recognised by a product token anywhere in the user agent, checked in order. Wrappers come
 * before what they wrap: Terraform's agent also names aws-sdk-go-v2, boto3's names botocore, and
 * aws-cli v1's names botocore, so the first match is the tool a person actually ran.
 */
const TOOLS: readonly { token: string; label: string }[] = [
  { token: 'Terraform', label: 'Terraform' },
  { token: 'OpenTofu', label: 'OpenTofu' },
  { token: 'Pulumi', label: 'Pulumi' },
  { token: 'aws-cdk', label: 'AWS CDK' },
  { token: 'aws-sam-cli', label: 'AWS SAM CLI' },
  { token: 'AWS-SAM-CLI', label: 'AWS SAM CLI' },
  { token: 'aws-cli', label: 'aws-cli' },
  { token: 'Boto3', label: 'boto3' },
  { token: 'Botocore', label: 'botocore' },
  { token: 'aws-sdk-js', label: 'AWS SDK for JavaScript' },
  { token: 'aws-sdk-nodejs', label: 'AWS SDK for JavaScript' },
  { token: 'aws-sdk-go-v2', label: 'AWS SDK for Go v2' },
  { token: 'aws-sdk-go', label: 'AWS SDK for Go' },
  { token: 'aws-sdk-java', label: 'AWS SDK for Java' },
  { token: 'aws-sdk-dotnet-coreclr', label: 'AWS SDK for .NET' },
  { token: 'aws-sdk-dotnet-45', label: 'AWS SDK for .NET' },
  { token: 'aws-sdk-dotnet', label: 'AWS SDK for .NET' },
  { token: 'aws-sdk-ruby3', label: 'AWS SDK for Ruby' },
  { token: 'aws-sdk-ruby2', label: 'AWS SDK for Ruby' },
  { token: 'aws-sdk-ruby', label: 'AWS SDK for Ruby' },
  { token: 'aws-sdk-php', label: 'AWS SDK for PHP' },
  { token: 'aws-sdk-rust', label: 'AWS SDK for Rust' },
  { token: 'aws-sdk-cpp', label: 'AWS SDK for C++' },
  { token: 'aws-sdk-kotlin', label: 'AWS SDK for Kotlin' },
  { token: 'aws-sdk-swift', label: 'AWS SDK for Swift' },
  { token: 'AWSPowerShell.Common', label: 'AWS Tools for PowerShell' },
  { token: 'AWSPowerShell', label: 'AWS Tools for PowerShell' },
];

/** `token/version`, preceded by the start, a space, a bracket or a comma so "xaws-cli" does not match. */
const TOOL_PATTERNS = TOOLS.map(({ token, label }) => ({
  pattern: new RegExp(`(?:^|[\\s\\[(,])${token.replace(/[.]/g, '\\.')}/([0-9][\\w.+-]*)`, 'i'),
  label,
}));

const CONSOLE = 'AWS Management Console';

/**
 * What AWS records when the console (or AWS acting for it) made the call: the console and sign-in
 * hostnames, "AWS Internal", the internal SDK token and Coral, AWS's internal service framework.
 */
const CONSOLE_AGENTS = [
  /^console(\.[a-z0-9-]+)*\.amazonaws\.com$/i,
  /^signin\.amazonaws\.com$/i,
  /^AWS Internal$/i,
  /^aws-internal\//i,
  /^Coral\//,
];

/** Service hostnames whose product name reads better than the hostname. */
const SERVICES: Readonly<Record<string, string>> = {
  'cloudformation.amazonaws.com': 'AWS CloudFormation',
  'config.amazonaws.com': 'AWS Config',
  'ssm.amazonaws.com': 'AWS Systems Manager',
  'servicecatalog.amazonaws.com': 'AWS Service Catalog',
  'sso.amazonaws.com': 'AWS IAM Identity Center',
  'organizations.amazonaws.com': 'AWS Organizations',
  'controltower.amazonaws.com': 'AWS Control Tower',
};

/**
 * Cuts at a code point (never half a surrogate pair) and marks the cut, so a label never silently
 * looks complete when it is not.
 */
const truncate = (text: string): string => {
  // A label is short: look at its first few code points only (each at most two UTF-16 units), whatever the input's size.
  const chars = Array.from(text.slice(0, 2 * MAX_LABEL + 2));
  return chars.length <= MAX_LABEL ? text : `${chars.slice(0, MAX_LABEL - 1).join('')}…`;
};

const browserOf = (userAgent: string): string | undefined => {
  // Bowser guesses a "browser" for any string (aws-cli becomes one); only real browsers say Mozilla/Opera.
  if (!/^(Mozilla|Opera)\//.test(userAgent)) return undefined;
  const { browser, os } = Bowser.parse(userAgent);
  if (!browser.name) return undefined;
  // The major version is what people say ("Chrome 120"); the rest is build noise.
  const major = browser.version?.split('.')[0];
  const name = major ? `${browser.name} ${major}` : browser.name;
  return os.name ? `${name} on ${os.name}` : name;
};

/** "product version" from the leading product token, else the text up to the first comment or list. */
const firstProductOf = (userAgent: string): string => {
  const product = /^([^\s/(),;]+)\/([^\s/(),;]+)/.exec(userAgent);
  if (product) return `${product[1]} ${product[2]}`;
  return (userAgent.split(/[(,;]/)[0] ?? '').trim() || userAgent;
};

/** One line, brackets unwrapped: CloudTrail wraps some console agents ("[S3Console/0.4, aws-internal/3 …]"). */
const normalise = (userAgent: string | null | undefined): string => {
  // Control characters and runs of spaces would break a one-line label.
  const text = (userAgent ?? '').replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1).trim() : text;
};

/** "AWS CloudWatch Console", "S3Console/0.4": a service console names itself. */
const NAMED_CONSOLE = /^AWS [^,/]*Console\b/;
const SERVICE_CONSOLE = /^([A-Za-z0-9]+)Console\/[^\s,]*/;

/**
 * Whether CloudTrail's userAgent says the AWS Management Console (or AWS acting for it) made the call:
 * the console and sign-in hostnames, "AWS Internal", the console backend's tokens, a service console's
 * own agent. The one list behind both the client label and the alert's `credential: console`.
 */
const isConsoleUserAgent = (userAgent: string | null | undefined): boolean => {
  const text = normalise(userAgent);
  return NAMED_CONSOLE.test(text) || SERVICE_CONSOLE.test(text) || CONSOLE_AGENTS.some((pattern) => pattern.test(text));
};

/**
 * The last labels computed, by user agent: a root session repeats one agent hundreds of times, and
 * parsing a browser's agent is the dearest step of an alert. Bounded: cleared when it holds 1,000.
 */
const LABELS = new Map<string, string | undefined>();
const MAX_LABELS = 1_000;

/**
 * A short, human label for a CloudTrail userAgent: the browser and OS for the console, the tool and
 * its version for the CLI, SDKs and infrastructure tools, else the first product token. At most
 * 60 characters; undefined when there is no user agent. The result is still attacker-controlled
 * text: renderers escape it.
 *
 * @example
 * describeClient('aws-cli/2.27.0 Python/3.13.2 Darwin/23.6.0 exe/x86_64'); // 'aws-cli 2.27.0'
 */
const describeClient = (userAgent: string | null | undefined): string | undefined => {
  if (!userAgent) return undefined;
  if (LABELS.has(userAgent)) return LABELS.get(userAgent);
  if (LABELS.size >= MAX_LABELS) LABELS.clear();
  const label = labelOf(normalise(userAgent));
  LABELS.set(userAgent, label);
  return label;
};

/** describeClient's work, on a normalised agent. */
const labelOf = (text: string): string | undefined => {
  if (text === '') return undefined;

  const service = SERVICES[text.toLowerCase()];
  if (service) return service;
  // "AWS CloudWatch Console", "AWS Organizations Console, aws-internal/3 …": the console names itself.
  const namedConsole = NAMED_CONSOLE.exec(text);
  if (namedConsole) return truncate(namedConsole[0]);
  // "S3Console/0.4": a service console's own agent.
  const serviceConsole = SERVICE_CONSOLE.exec(text);
  if (serviceConsole) return truncate(`AWS ${serviceConsole[1]} Console`);

  // Before the tools: the console's backend names the SDK it uses ("aws-internal/3 aws-sdk-java/1.12…").
  if (CONSOLE_AGENTS.some((pattern) => pattern.test(text))) return CONSOLE;
  for (const { pattern, label } of TOOL_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return truncate(`${label} ${match[1]}`);
  }
  return truncate(browserOf(text) ?? firstProductOf(text));
};

export { describeClient, isConsoleUserAgent };
