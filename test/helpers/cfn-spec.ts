import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';

/**
 * Checks a CloudFormation template against CloudFormation's own resource specification, offline: the
 * database @aws-cdk/aws-service-spec ships (db.json.gz, which the AWS CDK builds from CloudFormation's registry
 * schemas). It finds what `serverless package` cannot: a resource type, property (nested
 * property types too) or `Fn::GetAtt` attribute that does not exist, a value outside the specification's
 * enumeration, and a wrong type where that is cheap to see (an object where a list belongs, text where a
 * number belongs). Enumerations are checked only where the specification lists the values: it does for
 * RetentionInDays or a rule's State, not for an alarm's TreatMissingData or a table's BillingMode (cfn-lint,
 * which adds its own, does). It does not replace CloudFormation's validation of values against live state.
 */

/** The loaded specification, from {@link loadCfnSpec}. */
type CfnSpec = Awaited<ReturnType<typeof loadAwsServiceSpec>>;

/** The part of the specification's type model (@aws-cdk/service-spec-types) that this checker reads. */
type SpecType =
  | { readonly type: 'string'; readonly allowedValues?: readonly string[] }
  | { readonly type: 'integer'; readonly allowedValues?: readonly number[] }
  | { readonly type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { readonly type: 'ref'; readonly reference: { readonly $ref: string } }
  | { readonly type: 'array' | 'map'; readonly element: SpecType }
  | { readonly type: 'union'; readonly types: readonly SpecType[] };
interface SpecProperty {
  readonly type: SpecType;
  readonly required?: boolean;
}
/** A resource type's or a property type's properties. */
interface SpecShape {
  readonly name: string;
  readonly properties: Readonly<Record<string, SpecProperty>>;
}
interface SpecResource extends SpecShape {
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** One thing the template has that the specification does not allow. */
interface SpecFinding {
  /** The logical id of the resource (or output) it is in. */
  readonly logicalId: string;
  /** Where it is in the template, such as `Resources.Queue.Properties.RedrivePolicy.maxReceiveCount`. */
  readonly path: string;
  readonly message: string;
}

type Issue = Pick<SpecFinding, 'path' | 'message'>;
type JsonObject = Record<string, unknown>;

/** The keys a resource may have besides its type's properties. */
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
  'Metadata',
]);
const DELETION_POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const INTRINSICS = new Set([
  'Ref',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::FindInMap',
  'Fn::GetAtt',
  'Fn::GetAZs',
  'Fn::If',
  'Fn::ImportValue',
  'Fn::Join',
  'Fn::Length',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::ToJsonString',
  'Fn::And',
  'Fn::Equals',
  'Fn::Not',
  'Fn::Or',
]);
/** Intrinsic functions whose result is always text, or always a list. */
const STRING_INTRINSICS = new Set(['Fn::Base64', 'Fn::ImportValue', 'Fn::Join', 'Fn::Sub', 'Fn::ToJsonString']);
const LIST_INTRINSICS = new Set(['Fn::Cidr', 'Fn::GetAZs', 'Fn::Split']);
const TAG: SpecShape = {
  name: 'Tag',
  properties: {
    Key: { type: { type: 'string' }, required: true },
    Value: { type: { type: 'string' }, required: true },
  },
};

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** The name of the intrinsic function `value` calls (`{ "Fn::Join": … }`), if it is one. */
const intrinsicOf = (value: unknown): string | undefined => {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  const [key] = keys;
  return keys.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::')) ? key : undefined;
};
const isCustomResource = (type: string) =>
  type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
/** `value` as JSON, cut short when long (a whole policy document is not helpful in a failure). */
const shown = (value: unknown) => {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
};

/** Loads the specification (1–2 s, some 130 MB), so load it once per test file. */
const loadCfnSpec = (): Promise<CfnSpec> => loadAwsServiceSpec();

/**
 * Every place where `template` uses a resource type, resource key, property, enumeration value, value type,
 * `Ref`, `Fn::GetAtt` (also inside `Fn::Sub`) or intrinsic function that the specification, or the template
 * itself, does not have. An empty list means nothing was found. Values computed by intrinsic functions are
 * not checked beyond the kind of result (text or list) the function always returns.
 */
const checkTemplate = (template: unknown, spec: CfnSpec): SpecFinding[] => {
  const root = isObject(template) ? template : {};
  const resources = isObject(root.Resources) ? root.Resources : {};
  const parameters = isObject(root.Parameters) ? root.Parameters : {};
  const conditions = isObject(root.Conditions) ? root.Conditions : {};
  const findings: SpecFinding[] = [];

  const resourceSpec = (type: string): SpecResource | undefined =>
    spec.lookup('resource', 'cloudFormationType', 'equals', type)[0];
  const definition = (reference: { $ref: string }): SpecShape => spec.get('typeDefinition', reference.$ref);

  const describeType = (type: SpecType): string => {
    switch (type.type) {
      case 'string':
        return 'text';
      case 'integer':
        return 'an integer';
      case 'array':
        return `a list (of ${describeType(type.element)})`;
      case 'map':
        return `a map (of ${describeType(type.element)})`;
      case 'union':
        return type.types.map(describeType).join(' or ');
      case 'ref':
        return `a ${definition(type.reference).name} object`;
      case 'tag':
        return 'a tag ({ Key, Value })';
      case 'null':
        return 'null';
      default:
        return `a ${type.type}`;
    }
  };
  const acceptsString = (type: SpecType): boolean =>
    type.type === 'union'
      ? type.types.some(acceptsString)
      : !['array', 'map', 'ref', 'tag', 'null'].includes(type.type);
  const acceptsList = (type: SpecType): boolean =>
    type.type === 'union' ? type.types.some(acceptsList) : type.type === 'array' || type.type === 'json';

  /** What the specification says is wrong with `value` of `type` at `path`. */
  const checkValue = (value: unknown, type: SpecType, path: string): Issue[] => {
    const intrinsic = intrinsicOf(value);
    if (intrinsic !== undefined) {
      const args = (value as JsonObject)[intrinsic];
      if (intrinsic === 'Fn::If' && Array.isArray(args)) {
        // [condition, value if true, value if false]; Ref AWS::NoValue leaves the property out.
        return args.flatMap((branch, i) =>
          i === 0 || (isObject(branch) && branch.Ref === 'AWS::NoValue')
            ? []
            : checkValue(branch, type, `${path}.Fn::If[${i}]`),
        );
      }
      if (STRING_INTRINSICS.has(intrinsic) && !acceptsString(type)) {
        return [{ path, message: `${intrinsic} gives text where the specification has ${describeType(type)}` }];
      }
      if (LIST_INTRINSICS.has(intrinsic) && !acceptsList(type)) {
        return [{ path, message: `${intrinsic} gives a list where the specification has ${describeType(type)}` }];
      }
      return [];
    }
    const wrongType = (): Issue[] => [{ path, message: `${shown(value)} is not ${describeType(type)}` }];
    switch (type.type) {
      case 'json':
        return [];
      case 'null':
        return value === null ? [] : wrongType();
      case 'string':
      case 'date-time': {
        // CloudFormation turns numbers and booleans into text where text is expected.
        if (!['string', 'number', 'boolean'].includes(typeof value)) return wrongType();
        const allowed = type.type === 'string' ? type.allowedValues : undefined;
        return allowed === undefined || allowed.includes(String(value))
          ? []
          : [{ path, message: `${shown(value)} is not one of ${allowed.join(', ')}` }];
      }
      case 'integer':
      case 'number': {
        // CloudFormation reads numbers written as text.
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof number !== 'number' || Number.isNaN(number)) return wrongType();
        if (type.type === 'integer' && !Number.isInteger(number)) return wrongType();
        const allowed = type.type === 'integer' ? type.allowedValues : undefined;
        return allowed === undefined || allowed.includes(number)
          ? []
          : [{ path, message: `${shown(value)} is not one of ${allowed.join(', ')}` }];
      }
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : wrongType();
      case 'array':
        return Array.isArray(value)
          ? value.flatMap((element, i) => checkValue(element, type.element, `${path}[${i}]`))
          : wrongType();
      case 'map':
        return isObject(value)
          ? Object.entries(value).flatMap(([key, element]) => checkValue(element, type.element, `${path}.${key}`))
          : wrongType();
      case 'tag':
        return isObject(value) ? checkObject(value, TAG, path) : wrongType();
      case 'ref':
        return isObject(value) ? checkObject(value, definition(type.reference), path) : wrongType();
      case 'union': {
        // Valid if any alternative accepts it; otherwise the alternative that comes closest says why.
        const attempts = type.types.map((alternative) => checkValue(value, alternative, path));
        return attempts.some((issues) => issues.length === 0)
          ? []
          : attempts.reduce((best, issues) => (issues.length < best.length ? issues : best));
      }
    }
  };

  /** The unknown, missing and mistyped properties of `value`, an object of `shape`. */
  const checkObject = (value: JsonObject, shape: SpecShape, path: string): Issue[] => [
    ...Object.entries(value).flatMap(([key, property]) => {
      const expected = shape.properties[key];
      return expected === undefined
        ? [{ path: `${path}.${key}`, message: `${shape.name} has no property ${key}` }]
        : checkValue(property, expected.type, `${path}.${key}`);
    }),
    ...Object.entries(shape.properties)
      .filter(([key, property]) => property.required === true && !(key in value))
      .map(([key]) => ({ path, message: `${shape.name} requires property ${key}` })),
  ];

  /** The references (`Ref`, `Fn::GetAtt`, `Fn::Sub`) anywhere in `value` to what does not exist. */
  const checkReferences = (value: unknown, path: string): Issue[] => {
    if (Array.isArray(value)) return value.flatMap((element, i) => checkReferences(element, `${path}[${i}]`));
    if (!isObject(value)) return [];
    const issues = Object.entries(value).flatMap(([key, element]) => checkReferences(element, `${path}.${key}`));
    const intrinsic = intrinsicOf(value);
    if (intrinsic === undefined) return issues;
    const args = value[intrinsic];
    const here = `${path}.${intrinsic}`;
    const checkRef = (name: string, variables: JsonObject = {}): Issue[] =>
      name in resources || name in parameters || PSEUDO_PARAMETERS.has(name) || name in variables
        ? []
        : [{ path: here, message: `Ref to ${name}, which is neither a resource nor a parameter` }];
    const checkGetAtt = (logicalId: string, attribute: unknown): Issue[] => {
      const target = resources[logicalId];
      if (!isObject(target)) return [{ path: here, message: `Fn::GetAtt of ${logicalId}, which is not a resource` }];
      const type = String(target.Type);
      const targetSpec = resourceSpec(type);
      if (typeof attribute !== 'string' || isCustomResource(type) || targetSpec === undefined) return [];
      return attribute in targetSpec.attributes
        ? []
        : [
            {
              path: here,
              message: `${type} has no attribute ${attribute} (it has ${Object.keys(targetSpec.attributes).join(', ') || 'none'})`,
            },
          ];
    };
    switch (intrinsic) {
      case 'Ref':
        return [...issues, ...(typeof args === 'string' ? checkRef(args) : [])];
      case 'Fn::GetAtt': {
        const [logicalId, ...attribute] = typeof args === 'string' ? args.split('.') : Array.isArray(args) ? args : [];
        const name = typeof args === 'string' ? attribute.join('.') : attribute[0];
        return [...issues, ...(typeof logicalId === 'string' ? checkGetAtt(logicalId, name) : [])];
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(args) ? args : [args, {}];
        if (typeof text !== 'string') return issues;
        const vars = isObject(variables) ? variables : {};
        // ${Name} is a Ref and ${Name.Attribute} a GetAtt; ${!Literal} is text.
        const names = [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((match) => (match[1] ?? '').trim());
        return [
          ...issues,
          ...names.flatMap((name) => {
            const dot = name.indexOf('.');
            return dot < 0 || name in vars
              ? checkRef(name, vars)
              : checkGetAtt(name.slice(0, dot), name.slice(dot + 1));
          }),
        ];
      }
      default:
        return INTRINSICS.has(intrinsic)
          ? issues
          : [...issues, { path: here, message: `${intrinsic} is not an intrinsic function` }];
    }
  };

  const checkResource = (logicalId: string, resource: unknown): Issue[] => {
    const path = `Resources.${logicalId}`;
    if (!isObject(resource)) return [{ path, message: 'is not an object' }];
    const issues: Issue[] = Object.keys(resource)
      .filter((key) => !RESOURCE_KEYS.has(key))
      .map((key) => ({ path: `${path}.${key}`, message: `a resource has no key ${key}` }));
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      const policy = resource[key];
      if (policy !== undefined && !DELETION_POLICIES.includes(String(policy))) {
        issues.push({
          path: `${path}.${key}`,
          message: `${shown(policy)} is not one of ${DELETION_POLICIES.join(', ')}`,
        });
      }
    }
    for (const [i, dependency] of [resource.DependsOn ?? []].flat().entries()) {
      if (!(String(dependency) in resources)) {
        issues.push({ path: `${path}.DependsOn[${i}]`, message: `${shown(dependency)} is not a resource` });
      }
    }
    if (resource.Condition !== undefined && !(String(resource.Condition) in conditions)) {
      issues.push({ path: `${path}.Condition`, message: `${shown(resource.Condition)} is not a condition` });
    }
    issues.push(...checkReferences(resource, path));
    const type = resource.Type;
    if (typeof type !== 'string') return [...issues, { path: `${path}.Type`, message: `${shown(type)} is not a type` }];
    const properties = resource.Properties ?? {};
    if (!isObject(properties)) return [...issues, { path: `${path}.Properties`, message: 'is not an object' }];
    if (isCustomResource(type)) {
      return 'ServiceToken' in properties
        ? issues
        : [...issues, { path: `${path}.Properties`, message: `${type} requires property ServiceToken` }];
    }
    const typeSpec = resourceSpec(type);
    if (typeSpec === undefined) {
      return [...issues, { path: `${path}.Type`, message: `${type} is not a CloudFormation resource type` }];
    }
    return [...issues, ...checkObject(properties, { ...typeSpec, name: type }, `${path}.Properties`)];
  };

  for (const [logicalId, resource] of Object.entries(resources)) {
    findings.push(...checkResource(logicalId, resource).map((issue) => ({ logicalId, ...issue })));
  }
  for (const section of ['Outputs', 'Conditions'] as const) {
    for (const [logicalId, value] of Object.entries(isObject(root[section]) ? root[section] : {})) {
      findings.push(...checkReferences(value, `${section}.${logicalId}`).map((issue) => ({ logicalId, ...issue })));
    }
  }
  return findings;
};

/** A finding as one line of a test failure. */
const formatFinding = ({ path, message }: SpecFinding) => `${path}: ${message}`;

export { type CfnSpec, checkTemplate, formatFinding, loadCfnSpec };
