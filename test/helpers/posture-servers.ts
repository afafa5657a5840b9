/**
 * Local AWS for `rootwatch posture` and io/posture-reader.ts: four node:http servers speaking, for the calls the reader
 * makes, the wire protocols of Organizations (JSON 1.1: POST /, X-Amz-Target AWSOrganizationsV20161128.<Op>, errors
 * as `__type`), IAM and STS (Query: a form-encoded Action, XML answers, errors as <ErrorResponse>), and Account
 * (REST-JSON: POST /getAlternateContact, errors named by X-Amzn-ErrorType), reached through the real SDK clients
 * (AWS_ENDPOINT_URL_ORGANIZATIONS, _IAM, _STS, _ACCOUNT). No emulator covers these services.
 *
 * Who calls is read from the SigV4 Authorization header's access key id: the caller's key (any key that is not a
 * session's), a root session's (issued by AssumeRoot, ASIAROOT<account>) or an audit role's (AssumeRole,
 * ASIAROLE<account>). IAM answers each for its own account, as AWS does: a root session's ListAccessKeys lists root's
 * keys. A root session may only make the four reads IAMAuditRootUserCredentials is used for here, without UserName,
 * so the reader cannot drift to calls the task policy would refuse. The lists page (IAM Marker/IsTruncated,
 * Organizations NextToken) at `pageSize`.
 *   https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html (Marker, IsTruncated)
 *   https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
 *   https://docs.aws.amazon.com/accounts/latest/reference/API_GetAlternateContact.html
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type LoopbackListener, listenOnLoopback, readBody } from '../../functions/local/http.js';

/** One account of the local organization, and its root user. */
interface LocalAccount {
  id: string;
  name: string;
  /** The root user's e-mail (Organizations Account.Email). */
  email: string;
  /** Organizations State; default ACTIVE. */
  state?: string;
  root: { mfaDevices: number; accessKeys: number; signingCertificates: number; password: boolean };
  /** A SECURITY alternate contact is set. */
  securityContact: boolean;
  /** AssumeRoot into this account is refused with AccessDenied (an SCP, say). */
  assumeRootDenied?: boolean;
  /** The account has the read-only audit role. */
  auditRole?: boolean;
  /** GetAlternateContact for this account is refused with AccessDeniedException. */
  contactDenied?: boolean;
}

/** The organization the servers answer for: plain data, change it between calls. */
interface LocalOrganization {
  /** o-…; undefined: the caller's account is in no organization (AWSOrganizationsNotInUseException). */
  id?: string;
  managementAccountId: string;
  /** The account of the caller's credentials (the management account, a delegated administrator, or a single one). */
  callerAccountId: string;
  /** ListOrganizationsFeatures' EnabledFeatures, or 'denied' (AccessDenied). */
  features: ('RootCredentialsManagement' | 'RootSessions')[] | 'denied';
  /** ListAccounts is refused (the caller is neither the management account nor a delegated administrator). */
  listAccountsDenied?: boolean;
  /** The audit role's name in each account that has one. */
  auditRoleName?: string;
  /** Items a page holds (ListAccounts, IAM lists). */
  pageSize: number;
  accounts: LocalAccount[];
}

/** One request as a server took it. */
interface RecordedRequest {
  service: 'organizations' | 'iam' | 'sts' | 'account';
  action: string;
  /** The signing access key id. */
  accessKeyId: string;
  params: Record<string, unknown>;
}

interface PostureServers {
  /** http://127.0.0.1:PORT of each service. */
  endpoints: { organizations: string; iam: string; sts: string; account: string };
  /** The AWS_ENDPOINT_URL_* variables pointing the SDK at them. */
  env: Record<string, string>;
  organization: LocalOrganization;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROOT_SESSION = 'ASIAROOT';
const ROLE_SESSION = 'ASIAROLE';
const AUDIT_TASK_POLICY = 'arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials';
/** The only calls a root session makes here. */
const ROOT_SESSION_ACTIONS = ['ListAccessKeys', 'ListMFADevices', 'ListSigningCertificates', 'GetLoginProfile'];

/** Text as XML character data: hostile names and e-mails stay data. */
const xml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The access key id of a SigV4-signed request (`Credential=AKID/date/region/service/aws4_request`). */
const accessKeyOf = (request: IncomingMessage): string =>
  /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';

const sendXml = (response: ServerResponse, status: number, body: string) => {
  response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'local' });
  response.end(body);
};

/** A Query protocol answer: <ActionResponse><ActionResult>…</ActionResult></ActionResponse>. */
const queryResult = (response: ServerResponse, namespace: string, action: string, result: string) =>
  sendXml(
    response,
    200,
    `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></${action}Response>`,
  );

/** A Query protocol error. */
const queryError = (response: ServerResponse, namespace: string, status: number, code: string, message: string) =>
  sendXml(
    response,
    status,
    `<ErrorResponse xmlns="${namespace}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
  );

const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
  response.end(JSON.stringify(body));
};

/** One page of `items` from the position `token` names (a decimal index; undefined: the start). */
const pageOf = <T>(items: readonly T[], token: string | undefined, size: number) => {
  const start = token === undefined ? 0 : Number(token);
  const page = items.slice(start, start + size);
  return { page, next: start + size < items.length ? String(start + size) : undefined, valid: Number.isInteger(start) };
};

/**
 * Starts the four servers for `organization` on free loopback ports.
 *
 * @example
 * const servers = await startPostureServers({
 *   id: 'o-exampleorgid', managementAccountId: '111122223333', callerAccountId: '111122223333',
 *   features: ['RootCredentialsManagement', 'RootSessions'], pageSize: 2, accounts: [],
 * });
 * // vi.stubEnv each of servers.env, then readOrganizationPosture(createPostureClients(), {})
 * await servers.close();
 */
const startPostureServers = async (organization: LocalOrganization): Promise<PostureServers> => {
  const requests: RecordedRequest[] = [];
  const accountById = (id: string) => organization.accounts.find((account) => account.id === id);
  /** Who signed: the account IAM answers for, and in which kind of session. */
  const principalOf = (key: string): { accountId: string; kind: 'caller' | 'root' | 'role' } => {
    if (key.startsWith(ROOT_SESSION)) return { accountId: key.slice(ROOT_SESSION.length), kind: 'root' };
    if (key.startsWith(ROLE_SESSION)) return { accountId: key.slice(ROLE_SESSION.length), kind: 'role' };
    return { accountId: organization.callerAccountId, kind: 'caller' };
  };
  const credentialsXml = (key: string) =>
    `<Credentials><AccessKeyId>${key}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token-${key}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>`;

  const organizationsHandler = (request: IncomingMessage, response: ServerResponse, text: string) => {
    const action = String(request.headers['x-amz-target'] ?? '').replace('AWSOrganizationsV20161128.', '');
    const params = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    requests.push({ service: 'organizations', action, accessKeyId: accessKeyOf(request), params });
    const error = (status: number, type: string, message: string) =>
      sendJson(response, status, { __type: type, Message: message });
    if (!organization.id) {
      return error(400, 'AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
    }
    if (action === 'DescribeOrganization') {
      const management = accountById(organization.managementAccountId);
      return sendJson(response, 200, {
        Organization: {
          Id: organization.id,
          Arn: `arn:aws:organizations::${organization.managementAccountId}:organization/${organization.id}`,
          FeatureSet: 'ALL',
          MasterAccountId: organization.managementAccountId,
          MasterAccountArn: `arn:aws:organizations::${organization.managementAccountId}:account/${organization.id}/${organization.managementAccountId}`,
          ...(management ? { MasterAccountEmail: management.email } : {}),
          AvailablePolicyTypes: [],
        },
      });
    }
    if (action === 'ListAccounts') {
      if (organization.listAccountsDenied) {
        return error(403, 'AccessDeniedException', 'You don’t have permissions to access this resource.');
      }
      const size = typeof params.MaxResults === 'number' ? params.MaxResults : organization.pageSize;
      const { page, next, valid } = pageOf(
        organization.accounts,
        params.NextToken as string | undefined,
        Math.min(size, organization.pageSize),
      );
      if (!valid) return error(400, 'InvalidInputException', 'You specified an invalid value for nextToken.');
      return sendJson(response, 200, {
        Accounts: page.map((account) => ({
          Id: account.id,
          Arn: `arn:aws:organizations::${organization.managementAccountId}:account/${organization.id}/${account.id}`,
          Email: account.email,
          Name: account.name,
          Status: account.state === 'CLOSED' ? 'SUSPENDED' : (account.state ?? 'ACTIVE'),
          State: account.state ?? 'ACTIVE',
          JoinedMethod: 'CREATED',
          JoinedTimestamp: 1_700_000_000,
        })),
        ...(next ? { NextToken: next } : {}),
      });
    }
    return error(400, 'UnknownOperationException', `${action} is not served here`);
  };

  const iamHandler = (request: IncomingMessage, response: ServerResponse, text: string) => {
    const form = new URLSearchParams(text);
    const action = form.get('Action') ?? '';
    const key = accessKeyOf(request);
    requests.push({ service: 'iam', action, accessKeyId: key, params: Object.fromEntries(form) });
    const principal = principalOf(key);
    const account = accountById(principal.accountId);
    const denied = () =>
      queryError(
        response,
        IAM_NS,
        403,
        'AccessDenied',
        `User: arn:aws:sts::${principal.accountId}:assumed-root is not authorized to perform: iam:${action}`,
      );
    if (principal.kind === 'root' && (!ROOT_SESSION_ACTIONS.includes(action) || form.has('UserName'))) return denied();
    if (principal.kind === 'role' && action !== 'GetAccountSummary') return denied();
    if (!account) return queryError(response, IAM_NS, 404, 'NoSuchEntity', `no account ${principal.accountId}`);
    const root = account.root;
    const list = (member: string, count: number, item: (index: number) => string) => {
      const { page, next } = pageOf(
        Array.from({ length: count }, (_, index) => index),
        form.get('Marker') ?? undefined,
        organization.pageSize,
      );
      return queryResult(
        response,
        IAM_NS,
        action,
        `<${member}>${page.map((index) => `<member>${item(index)}</member>`).join('')}</${member}><IsTruncated>${next !== undefined}</IsTruncated>${next ? `<Marker>${next}</Marker>` : ''}`,
      );
    };
    switch (action) {
      case 'GetAccountSummary': {
        const entries = {
          AccountMFAEnabled: root.mfaDevices > 0 ? 1 : 0,
          AccountAccessKeysPresent: root.accessKeys > 0 ? 1 : 0,
          AccountSigningCertificatesPresent: root.signingCertificates > 0 ? 1 : 0,
          Users: 3,
          UsersQuota: 5000,
        };
        return queryResult(
          response,
          IAM_NS,
          action,
          `<SummaryMap>${Object.entries(entries)
            .map(([name, value]) => `<entry><key>${name}</key><value>${value}</value></entry>`)
            .join('')}</SummaryMap>`,
        );
      }
      case 'ListOrganizationsFeatures':
        if (organization.features === 'denied' || principal.accountId !== organization.managementAccountId) {
          return queryError(
            response,
            IAM_NS,
            400,
            'AccountNotManagementOrDelegatedAdministratorException',
            'The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.',
          );
        }
        return queryResult(
          response,
          IAM_NS,
          action,
          `<OrganizationId>${organization.id}</OrganizationId><EnabledFeatures>${organization.features
            .map((feature) => `<member>${feature}</member>`)
            .join('')}</EnabledFeatures>`,
        );
      case 'ListAccessKeys':
        return list(
          'AccessKeyMetadata',
          root.accessKeys,
          (index) =>
            `<UserName>${account.id}</UserName><AccessKeyId>AKIAROOTKEY${index}</AccessKeyId><Status>Active</Status><CreateDate>2026-01-01T00:00:00Z</CreateDate>`,
        );
      case 'ListMFADevices':
        return list(
          'MFADevices',
          root.mfaDevices,
          (index) =>
            `<UserName>${account.id}</UserName><SerialNumber>arn:aws:iam::${account.id}:mfa/root-${index}</SerialNumber><EnableDate>2026-01-01T00:00:00Z</EnableDate>`,
        );
      case 'ListSigningCertificates':
        return list(
          'Certificates',
          root.signingCertificates,
          (index) =>
            `<UserName>${account.id}</UserName><CertificateId>CERT${index}</CertificateId><CertificateBody>-----BEGIN CERTIFICATE-----</CertificateBody><Status>Active</Status><UploadDate>2026-01-01T00:00:00Z</UploadDate>`,
        );
      case 'GetLoginProfile':
        if (!root.password) {
          return queryError(response, IAM_NS, 404, 'NoSuchEntity', `Login Profile for User root cannot be found.`);
        }
        return queryResult(
          response,
          IAM_NS,
          action,
          `<LoginProfile><UserName>${account.id}</UserName><CreateDate>2026-01-01T00:00:00Z</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>`,
        );
      default:
        return queryError(response, IAM_NS, 400, 'InvalidAction', `${action} is not served here`);
    }
  };

  const stsHandler = (request: IncomingMessage, response: ServerResponse, text: string) => {
    const form = new URLSearchParams(text);
    const action = form.get('Action') ?? '';
    const key = accessKeyOf(request);
    requests.push({ service: 'sts', action, accessKeyId: key, params: Object.fromEntries(form) });
    const caller = organization.callerAccountId;
    const denied = (message: string) => queryError(response, STS_NS, 403, 'AccessDenied', message);
    switch (action) {
      case 'GetCallerIdentity':
        return queryResult(
          response,
          STS_NS,
          action,
          `<Arn>arn:aws:sts::${caller}:assumed-role/auditor/ana</Arn><UserId>AROAEXAMPLE:ana</UserId><Account>${caller}</Account>`,
        );
      case 'AssumeRoot': {
        const target = accountById(form.get('TargetPrincipal') ?? '');
        const features = organization.features === 'denied' ? [] : organization.features;
        if (form.get('TaskPolicyArn.arn') !== AUDIT_TASK_POLICY) return denied('unexpected task policy');
        if (!target || target.id === organization.managementAccountId || target.id === caller) {
          return denied('AssumeRoot targets a member account of the organization');
        }
        if (!features.includes('RootSessions') || target.assumeRootDenied) {
          return denied(
            `User: arn:aws:sts::${caller}:assumed-role/auditor/ana is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::${target.id}:root`,
          );
        }
        return queryResult(
          response,
          STS_NS,
          action,
          `${credentialsXml(`${ROOT_SESSION}${target.id}`)}<SourceIdentity></SourceIdentity>`,
        );
      }
      case 'AssumeRole': {
        const match = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(form.get('RoleArn') ?? '');
        const target = accountById(match?.[1] ?? '');
        if (!target?.auditRole || match?.[2] !== organization.auditRoleName) {
          return denied(
            `User: arn:aws:sts::${caller}:assumed-role/auditor/ana is not authorized to perform: sts:AssumeRole`,
          );
        }
        return queryResult(
          response,
          STS_NS,
          action,
          `${credentialsXml(`${ROLE_SESSION}${target.id}`)}<AssumedRoleUser><AssumedRoleId>AROAAUDIT:rootwatch-posture</AssumedRoleId><Arn>arn:aws:sts::${target.id}:assumed-role/${xml(match?.[2] ?? '')}/rootwatch-posture</Arn></AssumedRoleUser>`,
        );
      }
      default:
        return queryError(response, STS_NS, 400, 'InvalidAction', `${action} is not served here`);
    }
  };

  const accountHandler = (request: IncomingMessage, response: ServerResponse, text: string) => {
    const params = (text ? JSON.parse(text) : {}) as { AccountId?: string; AlternateContactType?: string };
    const action = request.url === '/getAlternateContact' ? 'GetAlternateContact' : String(request.url);
    requests.push({ service: 'account', action, accessKeyId: accessKeyOf(request), params });
    const error = (status: number, type: string, message: string) =>
      sendJson(response, status, { message }, { 'x-amzn-errortype': type });
    if (request.method !== 'POST' || action !== 'GetAlternateContact') {
      return error(404, 'UnknownOperationException', `${request.method} ${request.url} is not served here`);
    }
    const caller = organization.callerAccountId;
    if (params.AccountId === organization.managementAccountId && caller === organization.managementAccountId) {
      // "The management account can't specify its own AccountId; it must call the operation in standalone context."
      return error(400, 'ValidationException', "The management account can't specify its own AccountId.");
    }
    const account = accountById(params.AccountId ?? caller);
    if (!account || account.contactDenied) {
      return error(403, 'AccessDeniedException', 'not authorized to perform: account:GetAlternateContact');
    }
    if (params.AlternateContactType !== 'SECURITY' || !account.securityContact) {
      return error(404, 'ResourceNotFoundException', 'No contact of the inputted alternate contact type found.');
    }
    return sendJson(response, 200, {
      AlternateContact: {
        AlternateContactType: 'SECURITY',
        EmailAddress: `security@${account.id}.example.com`,
        Name: 'Security team',
        PhoneNumber: '+1-555-0100',
        Title: 'Security',
      },
    });
  };

  const serve = (handler: (request: IncomingMessage, response: ServerResponse, text: string) => void) =>
    listenOnLoopback(
      createServer((request, response) => {
        void readBody(request).then((text) => handler(request, response, text));
      }),
    );
  const listeners: LoopbackListener[] = await Promise.all([
    serve(organizationsHandler),
    serve(iamHandler),
    serve(stsHandler),
    serve(accountHandler),
  ]);
  const [organizations, iam, sts, account] = listeners.map((listener) => listener.origin) as [
    string,
    string,
    string,
    string,
  ];
  return {
    endpoints: { organizations, iam, sts, account },
    env: {
      AWS_ENDPOINT_URL_ORGANIZATIONS: organizations,
      AWS_ENDPOINT_URL_IAM: iam,
      AWS_ENDPOINT_URL_STS: sts,
      AWS_ENDPOINT_URL_ACCOUNT: account,
      AWS_ACCESS_KEY_ID: 'AKIACALLER',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
    },
    organization,
    requests,
    close: async () => {
      await Promise.all(listeners.map((listener) => listener.close()));
    },
  };
};

export type { LocalAccount, LocalOrganization, PostureServers };
export { startPostureServers };
