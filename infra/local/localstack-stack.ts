// The real resources in LocalStack: the CloudFormation template `sls package` generates from
// serverless.yml, cut down by one rule to what LocalStack runs without Docker or an account, and
// deployed through LocalStack's CloudFormation. Not a second, hand-written template.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { packageTo } from '../aws/package';
import { GaveUp, waitFor } from './procs';

const ROOT = join(import.meta.dirname, '..', '..');
export const STAGE = 'dev';
export const CFN_STACK_NAME = `flash-sale-${STAGE}`;

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  [k: string]: unknown;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * Resource types LocalStack 4.14.0 creates in host mode (no Docker, no account): queues and their
 * policies, topics, alarms, secrets and parameters. Lambda, API Gateway v2, EventBridge (the
 * schedule stays with serverless-offline), IAM roles and the deployment bucket stay behind.
 */
export const LOCALSTACK_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::CloudWatch::Alarm',
  'AWS::SecretsManager::Secret',
  'AWS::SSM::Parameter',
]);

/**
 * The one rule: a resource goes to LocalStack when its type is one LocalStack runs AND every
 * resource it refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn) goes too. So an alarm on a Lambda's
 * metrics stays behind with its Lambda; an alarm on a queue goes with the queue.
 */
export function localstackTemplate(template: CfnTemplate): CfnTemplate {
  const ids = new Set(Object.keys(template.Resources));
  const kept = new Set([...ids].filter((id) => LOCALSTACK_RESOURCE_TYPES.has(template.Resources[id]!.Type)));
  const refsKept = (node: unknown) => [...refsOf(node)].every((r) => !ids.has(r) || kept.has(r));
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of kept) {
      if (!refsKept(template.Resources[id])) {
        kept.delete(id);
        changed = true;
      }
    }
  }
  const outputs = Object.entries(template.Outputs ?? {}).filter(([, o]) => refsKept(o));
  const resources = Object.fromEntries([...kept].map((id) => [id, template.Resources[id]!]));
  // Only the conditions and parameters what is kept uses: a VPC id parameter of the AWS stack has
  // no value to give in LocalStack.
  const conditions = usedConditions([resources, outputs], template['Conditions'] as Named | undefined);
  const used = refsOf([resources, outputs, conditions]);
  const parameters = Object.entries((template['Parameters'] ?? {}) as Named).filter(([p]) => used.has(p));
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    ...(template['Description'] ? { Description: template['Description'] } : {}),
    ...(parameters.length ? { Parameters: Object.fromEntries(parameters) } : {}),
    ...(Object.keys(conditions).length ? { Conditions: conditions } : {}),
    Resources: resources,
    ...(outputs.length ? { Outputs: Object.fromEntries(outputs) } : {}),
  };
}

type Named = Record<string, unknown>;

/** The named conditions a node uses (`Condition: X`, `Fn::If: [X, ...]`), with those they use. */
function usedConditions(node: unknown, all: Named = {}): Named {
  const out: Named = {};
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) for (const x of n) visit(x);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        const name = k === 'Condition' ? v : k === 'Fn::If' && Array.isArray(v) ? v[0] : undefined;
        if (typeof name === 'string' && name in all && !(name in out)) {
          out[name] = all[name];
          visit(all[name]);
        }
        visit(v);
      }
    }
  };
  visit(node);
  return out;
}

/** Logical ids a template node refers to. */
export function refsOf(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) refsOf(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt') out.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]!);
      else if (k === 'Fn::Sub') subRefs(Array.isArray(v) ? String(v[0]) : String(v), out);
      else if (k === 'DependsOn') for (const d of [v].flat()) out.add(String(d));
      refsOf(v, out);
    }
  }
  return out;
}

function subRefs(text: string, out: Set<string>): void {
  for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) out.add(m[1]!.split('.')[0]!);
}

// ---- packaging ----------------------------------------------------------------------------------

/**
 * `sls package --stage dev` (offline, ~50 s: it bundles every function), cached under
 * node_modules/.cache by a hash of everything that shapes the resources: serverless.yml, the files
 * under infra/ it can include (json/yml), and package-lock.json (the framework and plugin versions).
 */
export function packagedTemplate(say: (msg: string) => void = () => {}): CfnTemplate {
  const cacheDir = join(ROOT, 'node_modules', '.cache', 'flash-sale');
  const cached = join(cacheDir, `cfn-${templateInputsHash()}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  say('packaging serverless.yml (sls package --stage dev) for its CloudFormation template');
  mkdirSync(cacheDir, { recursive: true });
  const out = mkdtempSync(join(cacheDir, 'package-'));
  try {
    // Offline, in a clean environment: the template must not capture a caller's DATABASE_URL or secrets.
    renameSync(packageTo(STAGE, out, { work_folder: '.esbuild-package-localstack' }), cached);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return JSON.parse(readFileSync(cached, 'utf8'));
}

function templateInputsHash(): string {
  const h = createHash('sha256');
  const files = [
    'serverless.yml',
    'package-lock.json',
    ...filesUnder(join(ROOT, 'infra'), /\.(json|ya?ml)$/),
  ];
  for (const f of files.sort()) h.update(f).update(readFileSync(join(ROOT, f)));
  return h.digest('hex').slice(0, 16);
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

// ---- deploying ----------------------------------------------------------------------------------

export function localCfnClient(endpoint: string): CloudFormationClient {
  return new CloudFormationClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Physical ids by logical id (a queue's is its URL). */
export type DeployedResources = Record<string, string>;

const DEPLOY_TIMEOUT_MS = 60_000;

/** Creates the stack in a (fresh, in-memory) LocalStack and waits for CREATE_COMPLETE. */
export async function deployToLocalstack(
  endpoint: string,
  template: CfnTemplate,
): Promise<DeployedResources> {
  const cfn = localCfnClient(endpoint);
  await cfn.send(
    new CreateStackCommand({ StackName: CFN_STACK_NAME, TemplateBody: JSON.stringify(template) }),
  );
  let status = '';
  await waitFor(
    `CloudFormation stack ${CFN_STACK_NAME} in LocalStack`,
    async () => {
      const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: CFN_STACK_NAME }));
      status = Stacks?.[0]?.StackStatus ?? '';
      if (status.endsWith('_FAILED') || status.includes('ROLLBACK')) {
        throw new GaveUp(`stack ${CFN_STACK_NAME}: ${status} ${Stacks?.[0]?.StackStatusReason ?? ''}`);
      }
      return status === 'CREATE_COMPLETE';
    },
    DEPLOY_TIMEOUT_MS,
  );
  const { StackResources } = await cfn.send(new DescribeStackResourcesCommand({ StackName: CFN_STACK_NAME }));
  return Object.fromEntries((StackResources ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
}
