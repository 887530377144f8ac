// Pins down what a deployed stage is, on the CloudFormation `sls package` generates offline for
// dev and prod (a VPC and data tier of their own) and shared (an existing VPC, Redis and
// PostgreSQL): cfn-lint finds no error, the template rules hold, and the wiring is the intended one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKED_STAGES, cfnLint, ROOT, templatePath } from '../../infra/aws/package';
import {
  type Cfn,
  checkTemplate,
  functions,
  reservedConcurrencySum,
  resourcesOfType,
  UNRESERVED_MIN,
} from '../../infra/aws/template-rules';
import queues from '../../infra/queues.json' with { type: 'json' };
import { allows, env, fnId, roleStatements, stageParams, template } from './helpers';

const ORDERS = { 'Fn::GetAtt': ['OrdersQueue', 'Arn'] };

/** The function an integration or permission invokes: its ARN, or an alias of it. */
function invokedFunction(R: Record<string, Cfn>, target: Cfn): string {
  if (target['Fn::GetAtt']) return target['Fn::GetAtt'][0];
  const alias = R[target.Ref];
  if (alias?.Type !== 'AWS::Lambda::Alias') throw new Error(`unexpected target ${JSON.stringify(target)}`);
  return alias.Properties.FunctionName.Ref;
}
const DLQ = { 'Fn::GetAtt': ['OrdersDLQ', 'Arn'] };
const PUBLIC = ['healthz', 'openapi', 'docs', 'dashboard', 'notFound'];

/** API.md's routes and the function answering each. */
const ROUTES: Record<string, string> = {
  'POST /api/orders': 'createOrder',
  'GET /api/orders/{order_id}': 'getOrder',
  'GET /api/orders': 'listOrders',
  'POST /api/orders/{order_id}/cancel': 'cancelOrder',
  'POST /api/payments/webhook': 'paymentWebhook',
  'GET /api/products/{id}': 'getProduct',
  'GET /api/products': 'listProducts',
  'POST /api/admin/products': 'adminCreateProduct',
  'PATCH /api/admin/products/{id}': 'adminUpdateProduct',
  'GET /api/admin/products/{id}/audit': 'adminAudit',
  'GET /api/admin/stats': 'adminStats',
  'GET /healthz': 'healthz',
  'GET /readyz': 'readyz',
  'GET /openapi.json': 'openapi',
  'GET /docs': 'docs',
  'GET /docs/{asset}': 'docs',
  'GET /': 'dashboard',
  $default: 'notFound',
};

it('cfn-lint (pinned, project venv) reports 0 errors on every packaged template', {
  timeout: 300_000,
}, () => {
  const lint = cfnLint(CHECKED_STAGES.map(templatePath));
  const errors = lint.output.split('\n').filter((l) => /:E\d{4}:/.test(l));
  expect(errors).toEqual([]);
  expect(lint.ok).toBe(true);
});

describe.each(CHECKED_STAGES)('stage %s', (stage) => {
  const t = template(stage);
  const R = t.Resources;
  const params = stageParams(stage);

  it('keeps every template rule (VPC, no * grants, no secret values, queue timing, concurrency)', () => {
    expect(checkTemplate(t, { account_concurrency: Number(params['accountConcurrency']) })).toEqual([]);
  });

  it('has every API route, each integrated with its function and allowed to invoke it', () => {
    const routes = Object.fromEntries(
      resourcesOfType(t, 'AWS::ApiGatewayV2::Route').map(([, r]) => {
        const integrationId = r.Properties.Target['Fn::Join'][1][1].Ref;
        return [r.Properties.RouteKey, invokedFunction(R, R[integrationId]!.Properties.IntegrationUri)];
      }),
    );
    expect(routes).toEqual(Object.fromEntries(Object.entries(ROUTES).map(([k, fn]) => [k, fnId(fn)])));
    const invokable = resourcesOfType(t, 'AWS::Lambda::Permission')
      .filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com')
      .map(([, p]) => invokedFunction(R, p.Properties.FunctionName));
    for (const fn of new Set(Object.values(ROUTES))) expect(invokable).toContain(fnId(fn));
  });

  it("serves POST /api/orders from createOrder's live alias, with a scalable target at minimum 0 (cli prewarm)", () => {
    const [, route] = resourcesOfType(t, 'AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /api/orders',
    )!;
    const integration = R[route.Properties.Target['Fn::Join'][1][1].Ref]!;
    expect(integration.Properties.IntegrationUri).toEqual({ Ref: 'CreateOrderLiveAlias' });
    expect(R['CreateOrderLiveAlias']).toMatchObject({
      Type: 'AWS::Lambda::Alias',
      Properties: { Name: 'live', FunctionName: { Ref: 'CreateOrderLambdaFunction' } },
    });
    expect(R['CreateOrderScalableTarget']!.Properties).toEqual({
      ServiceNamespace: 'lambda',
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      ResourceId: { 'Fn::Join': ['', ['function:', `flash-sale-${stage}-createOrder`, ':live']] },
      MinCapacity: 0,
      MaxCapacity: R['CreateOrderLambdaFunction']!.Properties.ReservedConcurrentExecutions,
    });
  });

  it('feeds persistOrders from the orders queue: partial batch failures, batch, window, concurrency', () => {
    const [[, m]] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping') as [[string, Cfn]];
    expect(m.Properties).toMatchObject({
      EventSourceArn: ORDERS,
      FunctionName: { 'Fn::GetAtt': [fnId('persistOrders'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: queues.batch_size,
      MaximumBatchingWindowInSeconds: queues.maximum_batching_window_s,
    });
    // As many writers as are reserved for the consumer: none of the reservation sits idle.
    expect(m.Properties.ScalingConfig).toEqual({
      MaximumConcurrency: Number(params['persistOrdersConcurrency']),
    });
    expect(R[fnId('persistOrders')]!.Properties.ReservedConcurrentExecutions).toBe(
      m.Properties.ScalingConfig.MaximumConcurrency,
    );
  });

  it('runs release every minute, one at a time, never retried, failures to the ops topic', () => {
    const rules = resourcesOfType(t, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules).toEqual([
      expect.objectContaining({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [fnId('release'), 'Arn'] } })],
      }),
    ]);
    expect(R[fnId('release')]!.Properties.ReservedConcurrentExecutions).toBe(1);
    const conf = resourcesOfType(t, 'AWS::Lambda::EventInvokeConfig').find(
      ([, c]) => c.Properties.FunctionName.Ref === fnId('release'),
    )?.[1];
    expect(conf?.Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: { Ref: 'OpsAlarmTopic' } } },
    });
    expect(allows(t, 'release', 'sns:Publish', { Ref: 'OpsAlarmTopic' })).toBe(true);
  });

  it('lets only createOrder and release send orders, nobody use the DLQ but to read its depth', () => {
    const names = functions(t).map(([id]) => id.replace(/LambdaFunction$/, ''));
    const lower = (n: string) => `${n[0]!.toLowerCase()}${n.slice(1)}`;
    const senders = names.map(lower).filter((fn) => allows(t, fn, 'sqs:SendMessage', ORDERS));
    expect(senders.sort()).toEqual(['createOrder', 'release']);
    for (const fn of names.map(lower)) {
      const onDlq = roleStatements(t, fn).filter((s) =>
        [s.Resource].flat().some((r: Cfn) => JSON.stringify(r) === JSON.stringify(DLQ)),
      );
      expect(
        onDlq.flatMap((s) => [s.Action].flat()),
        fn,
      ).toEqual(onDlq.length ? ['sqs:GetQueueAttributes'] : []);
    }
    // The backlog (both queues' depth) is read by the rebuild in the release run and by the
    // dashboard's stats; readiness asks the orders queue alone (lib/platform/readiness.ts).
    for (const fn of ['release', 'adminStats', 'readyz'])
      expect(allows(t, fn, 'sqs:GetQueueAttributes', ORDERS), fn).toBe(true);
    const dlqReaders = functions(t)
      .map(([id]) => lower(id.replace(/LambdaFunction$/, '')))
      .filter((fn) => allows(t, fn, 'sqs:GetQueueAttributes', DLQ));
    expect(dlqReaders.sort()).toEqual(['adminStats', 'release']);
    expect(allows(t, 'persistOrders', 'sqs:ReceiveMessage', ORDERS)).toBe(true);
    expect(allows(t, 'persistOrders', 'sqs:DeleteMessage', ORDERS)).toBe(true);
  });

  it("grants each role exactly the actions its functions use (the SQS event source's three, no more)", () => {
    // Lambda's ENIs and logs for every role; what each group's code calls (functions/, lib/) beyond
    // that. The event source mapping polls with persistOrders' role: ReceiveMessage, DeleteMessage,
    // GetQueueAttributes (AWS's list for an SQS trigger); nothing of ours changes a visibility.
    const base = [
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ];
    const secrets = ['secretsmanager:GetSecretValue', ...(params['secretsKmsKeyArn'] ? ['kms:Decrypt'] : [])];
    const xray = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
    const needs: Record<string, string[]> = {
      PublicRole: [],
      CreateOrderRole: [...secrets, 'sqs:SendMessage'],
      ApiRole: secrets,
      CatalogRole: secrets,
      WebhookRole: [...secrets, ...xray],
      ReadyzRole: [...secrets, 'sqs:GetQueueAttributes'],
      AdminStatsRole: [...secrets, 'sqs:GetQueueAttributes'],
      PersistRole: [...secrets, ...xray, 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
      ReleaseRole: [...secrets, ...xray, 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sns:Publish'],
      MigrateRole: secrets,
    };
    const granted = Object.fromEntries(
      resourcesOfType(t, 'AWS::IAM::Role')
        .filter(([id]) => id in needs)
        .map(([id, r]) => [
          id,
          [
            ...new Set(
              (r.Properties.Policies as Cfn[]).flatMap((p) =>
                p.PolicyDocument.Statement.flatMap((st: Cfn) => [st.Action].flat()),
              ),
            ),
          ].sort(),
        ]),
    );
    expect(granted).toEqual(
      Object.fromEntries(Object.entries(needs).map(([id, extra]) => [id, [...base, ...extra].sort()])),
    );
  });

  it('gives public functions no data: no secret, no queue, no topic', () => {
    for (const fn of PUBLIC) {
      const actions = roleStatements(t, fn).flatMap((s) => [s.Action].flat());
      expect(
        actions.filter((a: string) => /^(secretsmanager|ssm|sqs|sns|rds|kms):/.test(a)),
        fn,
      ).toEqual([]);
      expect(
        Object.keys(env(t, fn)).filter((k) => k.endsWith('_ARN')),
        fn,
      ).toEqual([]);
    }
  });

  it('gives each function references to exactly the secrets its role may read', () => {
    for (const [id] of functions(t)) {
      const fn = `${id[0]!.toLowerCase()}${id.slice(1).replace(/LambdaFunction$/, '')}`;
      const refs = Object.entries(env(t, fn))
        .filter(([k]) => k.endsWith('_SECRET_ARN'))
        .map(([, v]) => JSON.stringify(v))
        .sort();
      const readable = roleStatements(t, fn)
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => [s.Resource].flat().map((r: Cfn) => JSON.stringify(r)))
        .sort();
      expect(refs, fn).toEqual(readable);
    }
    expect(
      Object.keys(env(t, 'createOrder'))
        .filter((k) => k.endsWith('_ARN'))
        .sort(),
    ).toEqual(['AUTH_JWT_SECRET_ARN', 'REDIS_SECRET_ARN']);
    expect(Object.keys(env(t, 'paymentWebhook'))).toContain('WEBHOOK_SECRET_ARN');
  });

  it("decrypts the secrets with the stage's customer-managed key only when it names one, only through Secrets Manager", () => {
    const key = params['secretsKmsKeyArn'] as string;
    for (const fn of functions(t).map(([id]) => id.replace(/LambdaFunction$/, ''))) {
      const name = `${fn[0]!.toLowerCase()}${fn.slice(1)}`;
      const statements = roleStatements(t, name);
      const readsSecrets = statements.some((s) =>
        [s.Action].flat().includes('secretsmanager:GetSecretValue'),
      );
      const decrypt = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')));
      if (!key || !readsSecrets) {
        expect(decrypt, name).toEqual([]);
        continue;
      }
      expect(decrypt, name).toEqual([
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: [key],
          Condition: {
            StringEquals: {
              // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
              'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' },
            },
          },
        },
      ]);
    }
    if (stage === 'shared') expect(key, 'the shared stage names a key').toMatch(/^arn:aws:kms:/);
  });

  it('reads the webhook secret through an SSM-typed parameter, so a missing one fails the deploy', () => {
    expect((t as Cfn).Parameters.WebhookSecretArn).toMatchObject({
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: `/flash-sale/${stage}/webhook-secret-arn`,
    });
  });

  it('reaches SQS and Secrets Manager through interface endpoints, S3 through a gateway', () => {
    const endpoints = Object.fromEntries(
      resourcesOfType(t, 'AWS::EC2::VPCEndpoint').map(([, e]) => [
        e.Properties.ServiceName['Fn::Join'][1][2],
        e.Properties,
      ]),
    );
    for (const service of ['.sqs', '.secretsmanager'])
      expect(endpoints[service], service).toMatchObject({
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
      });
    expect(endpoints['.s3']).toMatchObject({ VpcEndpointType: 'Gateway' });
    // No internet route at all.
    expect(resourcesOfType(t, 'AWS::EC2::Route')).toEqual([]);
    expect(resourcesOfType(t, 'AWS::EC2::NatGateway')).toEqual([]);
  });

  it('can roll back a failed first deploy, and a second stage fits beside the first', () => {
    if (params['dataTier'] !== 'new') return;
    // Plain Retain kept the cluster when a first deploy failed later (the migration): its ACL,
    // user and groups then failed to delete (ROLLBACK_FAILED) and a retry collided with its name.
    expect(R['Redis']).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    // A protected instance cannot be deleted by that rollback either: protection is turned on by a
    // later deploy (param postgresDeletionProtection), the data kept by the snapshot policies.
    expect(R['Postgres']).toMatchObject({ DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
    expect(R['Postgres']!.Properties.DeletionProtection).toBe(false);
    // MemoryDB users are per account and region: a name without the stage stops a second stage.
    expect(R['RedisAppUser']!.Properties.UserName).toBe(`flashsale-app-${stage}`);
    expect(R['RedisAppSecret']!.Properties.GenerateSecretString.SecretStringTemplate).toContain(
      `"flashsale-app-${stage}"`,
    );
    // Patching and backups in windows chosen for them, a snapshot to restore from.
    expect(R['Redis']!.Properties).toMatchObject({
      SnapshotRetentionLimit: 1,
      MaintenanceWindow: expect.stringMatching(/^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/),
    });
    expect(R['Postgres']!.Properties).toMatchObject({
      PreferredMaintenanceWindow: expect.any(String),
      PreferredBackupWindow: expect.any(String),
    });
  });

  it('waits, before migrating, for the rules that let the functions reach the database', () => {
    const after: string[] = R['MigrateDatabase']!.DependsOn;
    // The functions' group allows only 443 by itself: a migrate run before the 5432 rules exist
    // cannot connect, and the deploy rolls back.
    expect(after).toContain('LambdaToProxyEgress');
    if (params['dataTier'] === 'existing') expect(after).toContain('LambdaToProxyIngress');
  });

  it("waits, before migrating, for every rule of the proxy's group: its own reach to Secrets Manager included", () => {
    // migrate connects through RDS Proxy, which authenticates it with the database secret it reads
    // from Secrets Manager itself (through the endpoint: ProxyToSecretsManagerIngress). A rule that
    // names the proxy's group and is not waited for can be created after migrate has run.
    const after: string[] = R['MigrateDatabase']!.DependsOn;
    const proxyGroup = JSON.stringify(
      params['dataTier'] === 'new' ? { Ref: 'ProxySecurityGroup' } : params['databaseSecurityGroupId'],
    );
    const proxyRules = [
      ...resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress'),
      ...resourcesOfType(t, 'AWS::EC2::SecurityGroupEgress'),
    ]
      .filter(([, r]) =>
        ['GroupId', 'SourceSecurityGroupId', 'DestinationSecurityGroupId'].some(
          (k) => JSON.stringify(r.Properties[k]) === proxyGroup,
        ),
      )
      .map(([id]) => id)
      .sort();
    expect(proxyRules.length).toBeGreaterThanOrEqual(2);
    expect(proxyRules.filter((id) => !after.includes(id))).toEqual([]);
  });

  it('traces persistOrders, release and the webhook only, and drops stale schedule events', () => {
    const traced = functions(t)
      .filter(([, f]) => f.Properties.TracingConfig?.Mode === 'Active')
      .map(([id]) => id)
      .sort();
    expect(traced).toEqual([
      'PaymentWebhookLambdaFunction',
      'PersistOrdersLambdaFunction',
      'ReleaseLambdaFunction',
    ]);
    expect(R['ReleaseLambdaEvConf']!.Properties).toMatchObject({ MaximumEventAgeInSeconds: 60 });
    // Only their roles may upload traces.
    const uploading = functions(t)
      .map(([id]) => id.replace(/LambdaFunction$/, ''))
      .map((name) => `${name[0]!.toLowerCase()}${name.slice(1)}`)
      .filter((fn) => allows(t, fn, 'xray:PutTraceSegments', '*'))
      .sort();
    expect(uploading).toEqual(['paymentWebhook', 'persistOrders', 'release']);
  });

  it('lets only the functions reach Redis and PostgreSQL (RDS Proxy), over TLS, as the app role', () => {
    const lambdaSg = { Ref: 'LambdaSecurityGroup' };
    if (params['dataTier'] === 'new') {
      expect(R['RedisSecurityGroup']!.Properties.SecurityGroupIngress).toEqual([
        { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: lambdaSg },
      ]);
      expect(R['ProxySecurityGroup']!.Properties.SecurityGroupIngress).toEqual([
        { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: lambdaSg },
      ]);
      expect(R['PostgresSecurityGroup']!.Properties.SecurityGroupIngress).toEqual([
        {
          IpProtocol: 'tcp',
          FromPort: 5432,
          ToPort: 5432,
          SourceSecurityGroupId: { Ref: 'ProxySecurityGroup' },
        },
      ]);
      expect(R['Redis']!.Properties).toMatchObject({ TLSEnabled: true, ACLName: { Ref: 'RedisAcl' } });
      expect(R['Postgres']!.Properties).toMatchObject({
        MultiAZ: true,
        StorageEncrypted: true,
        PubliclyAccessible: false,
      });
      expect(R['PostgresProxy']!.Properties.RequireTLS).toBe(true);
      // The proxy reads its database secrets through the Secrets Manager endpoint (no other route).
      expect(R['ProxyToSecretsManagerIngress']!.Properties).toMatchObject({
        GroupId: { Ref: 'EndpointSecurityGroup' },
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { Ref: 'ProxySecurityGroup' },
      });
      expect(R['Redis']!.Properties).toMatchObject({ Engine: 'redis', EngineVersion: '7.1' });
      expect(R['PostgresProxy']!.Properties.Auth).toContainEqual(
        expect.objectContaining({ SecretArn: { Ref: 'DatabaseAppSecret' } }),
      );
    } else {
      const ingress = resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
      expect(ingress).toEqual([
        expect.objectContaining({
          GroupId: params['redisSecurityGroupId'],
          FromPort: 6379,
          SourceSecurityGroupId: lambdaSg,
        }),
        expect.objectContaining({
          GroupId: params['databaseSecurityGroupId'],
          FromPort: 5432,
          SourceSecurityGroupId: lambdaSg,
        }),
      ]);
    }
    for (const [id] of functions(t)) {
      const vars = R[id]!.Properties.Environment.Variables;
      expect(vars.REDIS_TLS, id).toBe('1');
      const url = JSON.stringify(vars.DATABASE_URL);
      expect(url, id).toContain('sslmode=verify-full');
      expect(url, id).toContain(
        id === fnId('migrate') ? 'postgres://flashsale@' : 'postgres://flashsale_app@',
      );
    }
  });

  it("watches this stage's own MemoryDB cluster and RDS Proxy", () => {
    // New: the names the stack gives them. Existing: the shop's, as its endpoints name them
    // (clustercfg.<cluster>.… and <proxy>.proxy-….rds.amazonaws.com).
    const cluster =
      params['dataTier'] === 'new'
        ? R['Redis']!.Properties.ClusterName
        : /^clustercfg\.([^.]+)\./.exec(String(params['redisClusterNodes']))![1];
    const proxy =
      params['dataTier'] === 'new'
        ? R['PostgresProxy']!.Properties.DBProxyName
        : /^([^.]+)\.proxy-/.exec(String(params['databaseHost']))![1];
    expect(R['MemoryDbMemoryAlarm']!.Properties.Metrics[0].Expression).toContain(
      `ClusterName = '${cluster}'`,
    );
    for (const id of ['RdsProxyPinnedSessionsAlarm', 'RdsProxyConnectionsAlarm'])
      expect(R[id]!.Properties.Dimensions, id).toEqual([{ Name: 'ProxyName', Value: proxy }]);
  });

  it('migrates before any other function is updated, with the migrate function in the VPC', () => {
    expect(R['MigrateDatabase']).toMatchObject({
      Type: 'Custom::Migrate',
      Properties: { ServiceToken: { 'Fn::GetAtt': [fnId('migrate'), 'Arn'] } },
    });
    const hash = R['MigrateDatabase']!.Properties.Migrations;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // Its secrets and its answer to CloudFormation (S3) need the endpoints; the new data tier's
    // database must be behind the proxy. Created before it, deleted after it.
    const after = [R['MigrateDatabase']!.DependsOn].flat();
    expect(after).toEqual(expect.arrayContaining(['SecretsManagerEndpoint', 'S3Endpoint']));
    if (params['dataTier'] === 'new') expect(after).toContain('PostgresProxyTargetGroup');
    for (const id of after) expect(R[id], id).toBeDefined();
    for (const [id, r] of functions(t)) {
      if (id === fnId('migrate')) continue;
      expect([r.DependsOn].flat(), id).toContain('MigrateDatabase');
    }
  });

  it('uses one CORS origins parameter for API Gateway and the handlers; API access logs on', () => {
    const origins = R['HttpApi']!.Properties.CorsConfiguration.AllowOrigins;
    expect(origins).toEqual(params['corsOrigins']);
    for (const [id, r] of functions(t))
      expect(r.Properties.Environment.Variables.CORS_ORIGINS, id).toEqual({ 'Fn::Join': [',', origins] });
    if (stage === 'prod') expect(origins).not.toContain('*');
    expect(R['HttpApiStage']!.Properties.AccessLogSettings.DestinationArn).toBeDefined();
  });

  it('reserves concurrency from stage parameters and leaves 100 of the account unreserved', () => {
    expect(R[fnId('createOrder')]!.Properties.ReservedConcurrentExecutions).toBe(
      params['createOrderConcurrency'],
    );
    expect(R[fnId('persistOrders')]!.Properties.ReservedConcurrentExecutions).toBe(
      params['persistOrdersConcurrency'],
    );
    expect(reservedConcurrencySum(t)).toBeLessThanOrEqual(
      Number(params['accountConcurrency']) - UNRESERVED_MIN,
    );
  });
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: osls variables, not JS templates
it('serverless.yml reads nothing at packaging time from AWS (${cf:}, ${ssm:}, ${s3:}, ${aws:})', () => {
  const sources = ['serverless.yml', 'infra/aws/app.yml', 'infra/aws/network-new.yml', 'infra/aws/network-existing.yml',
    'infra/aws/data-new.yml', 'infra/aws/data-existing.yml', 'infra/aws/environment.yml', 'infra/aws/secret-refs.yml']; // biome-ignore format: a list
  const code = (f: string) => readFileSync(join(ROOT, f), 'utf8').replace(/(^|\s)#.*$/gm, '');
  for (const f of sources) expect(code(f), f).not.toMatch(/\$\{(cf|ssm|s3|aws)[:(]/);
});
