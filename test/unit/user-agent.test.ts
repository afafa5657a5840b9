import { describe, expect, it } from 'vitest';
import { classifySourceAddress } from '../../functions/core/source-address.js';
import { describeClient } from '../../functions/core/user-agent.js';

describe('describeClient', () => {
  it.each([
    // Browsers (console sign-in and console calls)
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'Chrome 120 on macOS',
    ],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10.13; rv:62.0) Gecko/20100101 Firefox/62.0', 'Firefox 62 on macOS'],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
      'Safari 17 on iOS',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
      'Microsoft Edge 120 on Windows',
    ],
    // CloudTrail wraps some console agents in brackets
    ['[Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0]', 'Firefox 121 on Linux'],
    // AWS tools
    [
      'aws-cli/2.27.0 Python/3.13.2 Darwin/23.6.0 exe/x86_64 prompt/off command/iam.create-access-key',
      'aws-cli 2.27.0',
    ],
    ['aws-cli/1.18.39 Python/3.8.2 Linux/5.4.0-1009-aws botocore/1.15.39', 'aws-cli 1.18.39'],
    [
      'Boto3/1.34.1 md/Botocore#1.34.1 ua/2.0 os/linux#5.10.0 md/arch#x86_64 lang/python#3.11.6 cfg/retry-mode#legacy Botocore/1.34.1',
      'boto3 1.34.1',
    ],
    ['Botocore/1.31.62 ua/2.0 os/linux#6.1 lang/python#3.12.0', 'botocore 1.31.62'],
    [
      'aws-sdk-js/3.454.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#18.18.2 api/iam#3.454.0',
      'AWS SDK for JavaScript 3.454.0',
    ],
    ['aws-sdk-nodejs/2.1490.0 linux/v18.18.2 exec-env/AWS_Lambda_nodejs18.x', 'AWS SDK for JavaScript 2.1490.0'],
    ['aws-sdk-go/1.44.122 (go1.19.3; linux; amd64)', 'AWS SDK for Go 1.44.122'],
    ['aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux api/iam#1.22.0', 'AWS SDK for Go v2 1.21.0'],
    [
      'aws-sdk-java/1.12.500 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/25.372-b07 java/1.8.0_372 vendor/Amazon.com_Inc.',
      'AWS SDK for Java 1.12.500',
    ],
    [
      'APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.17.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.21.0 os/linux lang/go#1.20.8',
      'Terraform 1.5.7',
    ],
    ['cloudformation.amazonaws.com', 'AWS CloudFormation'],
    // The console and AWS acting for it
    ['console.amazonaws.com', 'AWS Management Console'],
    ['signin.amazonaws.com', 'AWS Management Console'],
    ['AWS Internal', 'AWS Management Console'],
    ['Coral/Netty4', 'AWS Management Console'],
    ['Coral/Jakarta', 'AWS Management Console'],
    [
      'aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard',
      'AWS Management Console',
    ],
    ['AWS CloudWatch Console', 'AWS CloudWatch Console'],
    [
      'AWS Organizations Console, aws-internal/3 aws-sdk-java/1.11.1030 Linux/4.9.230 OpenJDK_64-Bit_Server_VM/25.302-b08',
      'AWS Organizations Console',
    ],
    ['[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.1002 Linux/4.9.230]', 'AWS S3 Console'],
    // Anything else: the first product token
    ['curl/8.4.0', 'curl 8.4.0'],
    ['python-requests/2.31.0', 'python-requests 2.31.0'],
    ['lambda.amazonaws.com', 'lambda.amazonaws.com'],
    ['my-script (internal build 7)', 'my-script'],
  ])('labels %s as %s', (userAgent, label) => {
    expect(describeClient(userAgent)).toBe(label);
  });

  it.each([undefined, null, '', '   ', '[]'])('returns undefined for %j', (userAgent) => {
    expect(describeClient(userAgent)).toBeUndefined();
  });

  it('truncates a long label to 60 characters and marks the cut', () => {
    // Prepare
    const userAgent = `x${'y'.repeat(200)}`;
    // Act
    const label = describeClient(userAgent);
    // Assess
    expect(label).toHaveLength(60);
    expect(label?.endsWith('…')).toBe(true);
  });

  it('never cuts a character in half', () => {
    const label = describeClient('🙂'.repeat(100));
    expect(Array.from(label ?? '')).toHaveLength(60);
    expect(label).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('keeps the label on one line whatever the agent contains', () => {
    expect(describeClient('evil\n@channel\tagent')).toBe('evil @channel agent');
  });

  it('does not take a token that merely ends like a tool for the tool', () => {
    expect(describeClient('notaws-cli/9.9 thing')).toBe('notaws-cli 9.9');
  });
});

describe('classifySourceAddress', () => {
  it.each([
    ['203.0.113.7', { ip: '203.0.113.7' }],
    ['8.8.8.8', { ip: '8.8.8.8' }],
    ['2001:db8::1', { ip: '2001:db8::1' }],
    ['::ffff:192.0.2.1', { ip: '::ffff:192.0.2.1' }],
    [' 198.51.100.1 ', { ip: '198.51.100.1' }],
    ['AWS Internal', { kind: 'aws-internal' }],
    ['cloudformation.amazonaws.com', { kind: 'aws-service' }],
    ['ec2.us-east-1.amazonaws.com', { kind: 'aws-service' }],
    ['ec2.cn-north-1.amazonaws.com.cn', { kind: 'aws-service' }],
  ])('classifies %s', (source, expected) => {
    expect(classifySourceAddress(source)).toStrictEqual(expected);
  });

  it.each([undefined, null, '', 'example.com', 'amazonaws.com.evil.example', '999.1.1.1', 'not an address'])(
    'gives nothing for %j',
    (source) => {
      expect(classifySourceAddress(source)).toStrictEqual({});
    },
  );
});
