// Under LocalStack the functions get their secrets the way an AWS stage gives them: as references
// (`NAME_ARN`) read with Powertools Parameters (lib/platform/secrets.ts), here from LocalStack's
// Secrets Manager. The test process and the CLI keep the plain values: they mint tokens and sign
// webhooks with them.
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The stack's generated secrets that the functions read by reference under LocalStack. */
export const REFERENCED_SECRETS = ['AUTH_JWT_SECRET', 'WEBHOOK_SECRET'] as const;

const REGION = 'us-east-1';
// LocalStack does not check credentials, but the SDK refuses to sign without some.
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function localSecretsClient(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({ region: REGION, endpoint, credentials: CREDENTIALS });
}

/** The Secrets Manager name a local secret is stored under, e.g. `flash-sale-dev/local/WEBHOOK_SECRET`. */
export const localSecretName = (name: string) => `flash-sale-dev/local/${name}`;

/**
 * Stores the plain secrets of `env` in a fresh (in-memory) LocalStack. Returns each one's partial
 * ARN (no random suffix): Secrets Manager accepts it, and it stays valid when a fault restarts
 * LocalStack and the secrets are stored again under new full ARNs.
 */
export async function storeSecrets(
  endpoint: string,
  env: Record<string, string>,
): Promise<Record<string, string>> {
  const sm = localSecretsClient(endpoint);
  const arns: Record<string, string> = {};
  for (const name of REFERENCED_SECRETS) {
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: localSecretName(name), SecretString: env[name] }),
    );
    arns[name] = ARN!.replace(/-[A-Za-z0-9]{6}$/, '');
  }
  return arns;
}

/** The functions' environment: references instead of values, and an AWS SDK that reaches LocalStack. */
export async function referencedSecretsEnv(
  env: Record<string, string>,
  endpoint: string,
): Promise<Record<string, string>> {
  const arns = await storeSecrets(endpoint, env);
  const out: Record<string, string> = { ...env };
  for (const name of REFERENCED_SECRETS) {
    delete out[name];
    out[`${name}_ARN`] = arns[name]!;
  }
  return {
    ...out,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  };
}
