// Applies migrations/ inside the VPC. Invoked three ways with the same code: by CloudFormation on
// deploy (custom resource MigrateDatabase, before the other functions are updated), by
// `npm run cli -- migrate --stage NAME` (Lambda Invoke), and locally/in CI in-process. Idempotent:
// a second run applies nothing. Connects as the master user (its secret in DATABASE_SECRET_ARN).
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { closeDb, db } from '../lib/orders/db';
import { migrate, migrationsHash, setAppRolePassword } from '../lib/orders/migrate';
import { replyToCloudFormation } from '../lib/platform/cfn-response';
import { logger } from '../lib/platform/logger';
import { parseCredentials, secretsReady, secretValue } from '../lib/platform/secrets';

export interface MigrateReport {
  applied: string[];
  app_role_password_set: boolean;
}

export const handler = async (
  event: Partial<CloudFormationCustomResourceEvent> | undefined,
  context?: Context,
): Promise<MigrateReport | undefined> => {
  if (!isCustomResource(event)) return run();
  // Deleting the stack never touches the data (the instance keeps its snapshot policy).
  if (event.RequestType === 'Delete') return replyToCloudFormation(event, context, { status: 'SUCCESS' });
  if (isRollback(event)) {
    // A failed deploy's rollback sends the previous release's hash while this code (the new
    // release's) still runs: running again would repeat the failure and leave the stack in
    // UPDATE_ROLLBACK_FAILED. Migrations are forward-only, so the rollback has nothing to undo.
    logger.warn('migrate: a rollback (or stale) request, nothing run', {
      requested: event.ResourceProperties['Migrations'],
      carried: migrationsHash(),
    });
    return replyToCloudFormation(event, context, { status: 'SUCCESS' });
  }
  try {
    const report = await run();
    await replyToCloudFormation(event, context, {
      status: 'SUCCESS',
      data: { Applied: report.applied.join(',') },
    });
    return report;
  } catch (err) {
    logger.error('migrate failed', { error: err as Error });
    // FAILED rolls the deploy back before any new code runs.
    await replyToCloudFormation(event, context, { status: 'FAILED', reason: (err as Error).message });
    return undefined;
  }
};

async function run(): Promise<MigrateReport> {
  await secretsReady();
  try {
    const applied = await migrate(db());
    const app = parseCredentials('DATABASE_APP_SECRET', await secretValue('DATABASE_APP_SECRET'));
    if (app) await setAppRolePassword(db(), app.username, app.password);
    logger.info('migrate', { applied, app_role_password_set: app !== undefined });
    return { applied, app_role_password_set: app !== undefined };
  } finally {
    // A migrate container is rarely reused; do not leave a connection open on the proxy.
    await closeDb();
  }
}

/** An Update for other migrations than the ones this code carries. */
function isRollback(event: CloudFormationCustomResourceEvent): boolean {
  return event.RequestType === 'Update' && event.ResourceProperties['Migrations'] !== migrationsHash();
}

function isCustomResource(e: unknown): e is CloudFormationCustomResourceEvent {
  const x = e as Partial<CloudFormationCustomResourceEvent> | undefined;
  return typeof x?.RequestType === 'string' && typeof x.ResponseURL === 'string';
}
