// One IAM role per group of functions with the same needs, built from one table: who may read which
// secret, send to or consume the orders queue, read the queues' attributes, publish a failure.
// serverless.yml gives each function `role: <Group>Role`; a template test checks every policy.
// `*` appears only where AWS offers nothing narrower (README, Deploying): the VPC network
// interfaces Lambda creates, and X-Ray's trace upload.
'use strict';

/** @type {Record<string, {functions: string[], secrets?: string[], sendOrders?: boolean,
 *   consumeOrders?: boolean, queueAttributes?: ('OrdersQueue' | 'OrdersDLQ')[],
 *   publishFailures?: boolean, traced?: boolean}>} */
const GROUPS = {
  // docs, openapi, dashboard, 404, liveness: no data at all.
  PublicRole: { functions: ['healthz', 'openapi', 'docs', 'dashboard', 'notFound'] },
  CreateOrderRole: {
    functions: ['createOrder'],
    secrets: ['AUTH_JWT_SECRET', 'REDIS_SECRET'],
    sendOrders: true,
  },
  ApiRole: {
    functions: [
      'getOrder',
      'listOrders',
      'cancelOrder',
      'adminCreateProduct',
      'adminUpdateProduct',
      'adminAudit',
    ],
    secrets: ['AUTH_JWT_SECRET', 'REDIS_SECRET', 'DATABASE_SECRET'],
  },
  CatalogRole: { functions: ['getProduct', 'listProducts'], secrets: ['REDIS_SECRET'] },
  WebhookRole: {
    functions: ['paymentWebhook'],
    secrets: ['WEBHOOK_SECRET', 'REDIS_SECRET', 'DATABASE_SECRET'],
    traced: true,
  },
  // Readiness asks the orders queue alone (lib/platform/readiness.ts), never the DLQ.
  ReadyzRole: {
    functions: ['readyz'],
    secrets: ['REDIS_SECRET', 'DATABASE_SECRET'],
    queueAttributes: ['OrdersQueue'],
  },
  // The dashboard's backlog: both queues' depth (lib/queue/dlq.ts sqsBacklog).
  AdminStatsRole: {
    functions: ['adminStats'],
    secrets: ['AUTH_JWT_SECRET', 'REDIS_SECRET', 'DATABASE_SECRET'],
    queueAttributes: ['OrdersQueue', 'OrdersDLQ'],
  },
  PersistRole: {
    functions: ['persistOrders'],
    secrets: ['REDIS_SECRET', 'DATABASE_SECRET'],
    consumeOrders: true,
    traced: true,
  },
  ReleaseRole: {
    functions: ['release'],
    secrets: ['REDIS_SECRET', 'DATABASE_SECRET'],
    sendOrders: true,
    // the rebuild's backlog: both queues' depth
    queueAttributes: ['OrdersQueue', 'OrdersDLQ'],
    publishFailures: true,
    traced: true,
  },
  MigrateRole: { functions: ['migrate'], secrets: ['DATABASE_MASTER_SECRET', 'DATABASE_SECRET'] },
};

// What AWS requires on `*`: Lambda's ENIs in the VPC (no resource-level permissions exist for
// these calls) and X-Ray's trace upload (only the roles of the traced functions: `traced`, matching
// `tracing: Active` in serverless.yml).
const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

const logicalId = (fn) => `${fn[0].toUpperCase()}${fn.slice(1)}`;
const queueArn = (id) => ({ 'Fn::GetAtt': [id, 'Arn'] });

function statements(group, secretArns, kmsKeyArn) {
  const s = [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: group.functions.map((fn) => ({ 'Fn::GetAtt': [`${logicalId(fn)}LogGroup`, 'Arn'] })),
    },
    { Effect: 'Allow', Action: VPC_ENI_ACTIONS, Resource: '*' },
  ];
  if (group.traced) s.push({ Effect: 'Allow', Action: XRAY_ACTIONS, Resource: '*' });
  if (group.secrets?.length)
    s.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: group.secrets.map((name) => {
        if (!secretArns[name]) throw new Error(`iam.cjs: no ARN for secret ${name}`);
        return secretArns[name];
      }),
    });
  // A customer-managed key: Secrets Manager decrypts with the caller's permission, so the role
  // needs kms:Decrypt on that key, and only through Secrets Manager.
  if (group.secrets?.length && kmsKeyArn)
    s.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [kmsKeyArn],
      Condition: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
        StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
      },
    });
  if (group.sendOrders)
    s.push({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [queueArn('OrdersQueue')] });
  // What Lambda's SQS event source mapping polls and deletes with (AWS's list for an SQS trigger);
  // persistOrders itself calls no SQS API, and nothing deployed changes a message's visibility (the
  // local trigger in infra/local/ does, with its own credentials).
  if (group.consumeOrders)
    s.push({
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: [queueArn('OrdersQueue')],
    });
  if (group.queueAttributes?.length)
    s.push({
      Effect: 'Allow',
      Action: ['sqs:GetQueueAttributes'],
      Resource: group.queueAttributes.map(queueArn),
    });
  if (group.publishFailures)
    s.push({ Effect: 'Allow', Action: ['sns:Publish'], Resource: [{ Ref: 'OpsAlarmTopic' }] });
  return s;
}

function role(name, group, secretArns, kmsKeyArn) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `flash-sale ${group.functions.join(', ')}`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      Policies: [
        {
          PolicyName: name,
          PolicyDocument: { Version: '2012-10-17', Statement: statements(group, secretArns, kmsKeyArn) },
        },
      ],
    },
  };
}

module.exports = async ({ resolveVariable }) => {
  const secretArns = await resolveVariable('file(./infra/aws/secret-refs.yml):arns');
  const kmsKeyArn = await resolveVariable('param:secretsKmsKeyArn');
  const Resources = {};
  for (const [name, group] of Object.entries(GROUPS))
    Resources[name] = role(name, group, secretArns, kmsKeyArn);
  return { Resources };
};
module.exports.GROUPS = GROUPS;
