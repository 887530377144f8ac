// Rules every deployable template must keep, checked on the generated CloudFormation (offline):
// each returns the violations it finds, named by logical id, so a broken configuration is caught
// before it ships (`npm run deploy` refuses; tests/template feeds good and broken templates).

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped by nature
export type Cfn = any;
export type Template = { Resources: Record<string, { Type: string; Properties?: Cfn; DependsOn?: Cfn }> };

export interface RuleOptions {
  /** the account's Lambda concurrency quota (serverless.yml param accountConcurrency) */
  account_concurrency: number;
}

/** AWS keeps this many executions unreserved in every account. */
export const UNRESERVED_MIN = 100;
/** Lambda's guidance for SQS event sources: visibility timeout >= 6 x the function timeout. */
export const VISIBILITY_FACTOR_MIN = 6;
/**
 * How long a message may keep failing (maxReceiveCount x visibility timeout) before the DLQ takes
 * it: a PostgreSQL outage (a failover, a maintenance window) shorter than this drains by itself,
 * and a Redis loss meanwhile does not keep its products closed until an operator redrives the DLQ.
 */
export const RETRY_SPAN_MIN_S = 1800;

/** Actions AWS offers no narrower resource for: Lambda's ENIs in a VPC, X-Ray's trace upload. */
export const STAR_RESOURCE_ACTIONS = new Set([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);

export const resourcesOfType = (t: Template, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type);

export const functions = (t: Template) => resourcesOfType(t, 'AWS::Lambda::Function');

const asList = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

export function checkTemplate(t: Template, opts: RuleOptions): string[] {
  return [
    ...functionsInVpc(t),
    ...noWildcardPolicies(t),
    ...noPlaintextSecrets(t),
    ...noUnresolvedVariables(t),
    ...queueTimeouts(t),
    ...concurrencySum(t, opts),
    ...alarmSubscriptions(t),
    ...identityProviderReachable(t),
  ];
}

/** Every function runs in at least two private subnets with a security group. */
export function functionsInVpc(t: Template): string[] {
  return functions(t).flatMap(([id, r]) => {
    const vpc = r.Properties?.VpcConfig;
    const subnets = asList(vpc?.SubnetIds);
    const groups = asList(vpc?.SecurityGroupIds);
    return subnets.length >= 2 && groups.length >= 1
      ? []
      : [`${id}: not in the VPC (two subnets, a security group)`];
  });
}

/** Statements of every role and policy in the template, with where they come from. */
export function policyStatements(t: Template): { where: string; statement: Cfn }[] {
  const out: { where: string; statement: Cfn }[] = [];
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of asList(r.Properties?.Policies))
        for (const s of asList(p.PolicyDocument?.Statement))
          out.push({ where: `${id}/${p.PolicyName}`, statement: s });
      for (const arn of asList(r.Properties?.ManagedPolicyArns))
        out.push({
          where: `${id}/managed`,
          statement: { Effect: 'Allow', Action: '*', Resource: '*', managed: arn },
        });
    }
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
      for (const s of asList(r.Properties?.PolicyDocument?.Statement)) out.push({ where: id, statement: s });
  }
  return out;
}

/** No `*` action, no `service:*`, no NotAction/NotResource, `*` resources only for STAR_RESOURCE_ACTIONS. */
export function noWildcardPolicies(t: Template): string[] {
  return policyStatements(t).flatMap(({ where, statement: s }) => {
    if (s.Effect !== 'Allow') return [];
    if (s.managed) return [`${where}: managed policy ${JSON.stringify(s.managed)} (grant inline, narrowly)`];
    if (s.NotAction || s.NotResource) return [`${where}: NotAction/NotResource grants everything else`];
    const actions = asList<string>(s.Action);
    const bad: string[] = [];
    for (const a of actions) if (a === '*' || a.endsWith(':*')) bad.push(`${where}: wildcard action ${a}`);
    if (asList(s.Resource).some((r) => r === '*')) {
      const extra = actions.filter((a) => !STAR_RESOURCE_ACTIONS.has(a));
      if (extra.length) bad.push(`${where}: Resource "*" for ${extra.join(', ')}`);
    }
    return bad;
  });
}

const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY)$/;
const SECRET_VALUE = [
  { re: /whsec_/, what: 'a webhook secret' },
  { re: /-----BEGIN/, what: 'a private key' },
  { re: /:\/\/[^/:@\s]+:[^/@\s]+@/, what: 'a URL with a password' },
  { re: /\{\{resolve:(secretsmanager|ssm-secure)/, what: 'a resolved secret' },
];

/** Environments hold settings and secret references (`*_ARN`), never a secret's value. */
export function noPlaintextSecrets(t: Template): string[] {
  return functions(t).flatMap(([id, r]) => {
    const vars: Record<string, Cfn> = r.Properties?.Environment?.Variables ?? {};
    return Object.entries(vars).flatMap(([name, value]) => {
      if (SECRET_NAME.test(name) && value !== '')
        return [`${id}: ${name} holds a secret value; pass ${name}_ARN`];
      if (name.endsWith('_ARN') && typeof value === 'string' && !value.startsWith('arn:'))
        return [`${id}: ${name} is not an ARN`];
      const text = JSON.stringify(value);
      return SECRET_VALUE.filter(({ re }) => re.test(text)).map(({ what }) => `${id}: ${name} holds ${what}`);
    });
  });
}

/** osls resolved everything offline: no `${cf:…}`, `${ssm:…}` or any other variable is left. */
export function noUnresolvedVariables(t: Template): string[] {
  const text = JSON.stringify(t);
  const left = text.match(/\$\{(cf|ssm|s3|aws|env|opt|self|param|file|sls)[:(][^}]*\}/g) ?? [];
  return [...new Set(left)].map((v) => `unresolved variable ${v}`);
}

const refId = (x: Cfn): string | undefined => x?.Ref ?? x?.['Fn::GetAtt']?.[0];

/**
 * Each SQS-triggered function's queue: visibility >= 6 x timeout, at least RETRY_SPAN_MIN_S of
 * retries before its DLQ, and the DLQ keeps messages longer.
 */
export function queueTimeouts(t: Template): string[] {
  return resourcesOfType(t, 'AWS::Lambda::EventSourceMapping').flatMap(([id, m]) => {
    const queueId = refId(m.Properties?.EventSourceArn);
    const fnId = refId(m.Properties?.FunctionName);
    const queue = queueId ? t.Resources[queueId] : undefined;
    const fn = fnId ? t.Resources[fnId] : undefined;
    if (queue?.Type !== 'AWS::SQS::Queue' || !fn) return [];
    const bad: string[] = [];
    const timeout_s = Number(fn.Properties?.Timeout ?? 3);
    const visibility_s = Number(queue.Properties?.VisibilityTimeout ?? 30);
    if (visibility_s < VISIBILITY_FACTOR_MIN * timeout_s)
      bad.push(
        `${queueId}: VisibilityTimeout ${visibility_s} s < ${VISIBILITY_FACTOR_MIN} x ${fnId} timeout ${timeout_s} s (${id})`,
      );
    const receives = Number(queue.Properties?.RedrivePolicy?.maxReceiveCount ?? 0);
    if (receives * visibility_s < RETRY_SPAN_MIN_S)
      bad.push(
        `${queueId}: maxReceiveCount ${receives} x VisibilityTimeout ${visibility_s} s < ${RETRY_SPAN_MIN_S} s of retries before the DLQ`,
      );
    const dlqId = refId(queue.Properties?.RedrivePolicy?.deadLetterTargetArn);
    const dlq = dlqId ? t.Resources[dlqId] : undefined;
    if (!dlq) bad.push(`${queueId}: no dead-letter queue`);
    else {
      const retention_s = Number(queue.Properties?.MessageRetentionPeriod ?? 345_600);
      const dlqRetention_s = Number(dlq.Properties?.MessageRetentionPeriod ?? 345_600);
      if (dlqRetention_s <= retention_s)
        bad.push(`${dlqId}: retention ${dlqRetention_s} s not longer than ${queueId}'s ${retention_s} s`);
    }
    return bad;
  });
}

export function reservedConcurrencySum(t: Template): number {
  return functions(t).reduce(
    (sum, [, r]) => sum + Number(r.Properties?.ReservedConcurrentExecutions ?? 0),
    0,
  );
}

/** Reserved concurrency leaves AWS's 100 unreserved executions of the account quota. */
export function concurrencySum(t: Template, opts: RuleOptions): string[] {
  const sum = reservedConcurrencySum(t);
  const limit = opts.account_concurrency - UNRESERVED_MIN;
  return sum <= limit
    ? []
    : [
        `reserved concurrency ${sum} > ${limit} (quota ${opts.account_concurrency} - ${UNRESERVED_MIN} unreserved)`,
      ];
}

/**
 * SNS protocols that deliver with nothing more in the stack. An `sqs`, `lambda`, `firehose` or
 * `application` endpoint also needs a resource policy or permission letting the topic reach it,
 * which this stack does not grant: the subscription would be created and every alarm dropped.
 */
export const ALARM_PROTOCOLS = new Set(['email', 'email-json', 'https', 'sms']);

/** The alarm topic's subscriptions deliver (stage parameter alarmProtocol). */
export function alarmSubscriptions(t: Template): string[] {
  return resourcesOfType(t, 'AWS::SNS::Subscription').flatMap(([id, r]) => {
    const protocol = r.Properties?.Protocol;
    return ALARM_PROTOCOLS.has(protocol)
      ? []
      : [
          `${id}: protocol ${JSON.stringify(protocol)} needs a permission on its endpoint this stack does not grant (use ${[...ALARM_PROTOCOLS].join(', ')})`,
        ];
  });
}

/**
 * Identity-provider mode (AUTH_JWKS_URL) fetches the provider's key set over the internet. A stage
 * in a VPC of its own (network: new: no internet or NAT gateway, only the endpoints) cannot reach
 * it, so every authenticated route would answer 503. A stage in an existing VPC is the shop's to
 * route (README, "Identity provider").
 */
export function identityProviderReachable(t: Template): string[] {
  const ownVpc = resourcesOfType(t, 'AWS::EC2::VPC').length > 0;
  const routesOut =
    resourcesOfType(t, 'AWS::EC2::NatGateway').length > 0 ||
    resourcesOfType(t, 'AWS::EC2::InternetGateway').length > 0;
  if (!ownVpc || routesOut) return [];
  return functions(t).flatMap(([id, r]) => {
    const url = r.Properties?.Environment?.Variables?.AUTH_JWKS_URL;
    return url
      ? [`${id}: AUTH_JWKS_URL ${JSON.stringify(url)} is unreachable from the stage's VPC (no route out)`]
      : [];
  });
}
