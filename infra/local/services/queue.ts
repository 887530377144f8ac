// The local stand-in for SQS: the fauxqs emulator (or an SQS endpoint the caller points at), and the
// orders queue with its DLQ as serverless.yml declares them.
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import queues from '../../queues.json' with { type: 'json' };
import { type Proc, startProc, waitFor } from '../procs';
import type { ServiceOpts } from './options';

export interface QueueService {
  kind: 'fauxqs' | 'localstack';
  endpoint: string;
  proc: Proc | null;
}

/**
 * fauxqs keeps everything in memory: a restart loses messages (the outbox re-send recovers them).
 * Started through its programmatic API, not its CLI: the CLI turns request logging on whatever
 * FAUXQS_LOGGER says (two JSON lines per SQS call, fauxqs 1.x and 2.x alike).
 */
export async function startFauxqs(
  node: string,
  opts: ServiceOpts & { port: number; appJs: string },
): Promise<QueueService> {
  const main = `const { startFauxqs } = await import(${JSON.stringify(pathToFileURL(opts.appJs).href)});
await startFauxqs({ port: ${opts.port}, host: 'localhost', listenHost: '127.0.0.1', logger: false });`;
  const proc = startProc(`fauxqs-${opts.port}`, node, ['--input-type=module', '-e', main], {
    logDir: opts.logDir,
  });
  const endpoint = `http://127.0.0.1:${opts.port}`;
  await waitFor('fauxqs', async () => (await fetch(`${endpoint}/health`)).ok);
  return { kind: 'fauxqs', endpoint, proc };
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint,
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface QueuePair {
  queueUrl: string;
  dlqUrl: string;
}

/** The orders queue and its DLQ with the redrive policy serverless.yml declares (infra/queues.json). */
export async function createOrderQueues(
  sqs: SQSClient,
  names = { queue: queues.orders_queue_name, dlq: queues.orders_dlq_name },
  overrides: { visibility_timeout_s?: number; max_receive_count?: number } = {},
): Promise<QueuePair> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: names.dlq }));
  const dlqUrl = dlq.QueueUrl!;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        VisibilityTimeout: String(overrides.visibility_timeout_s ?? queues.visibility_timeout_s),
        MessageRetentionPeriod: String(queues.message_retention_s),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: attrs.Attributes?.['QueueArn'],
          maxReceiveCount: overrides.max_receive_count ?? queues.max_receive_count,
        }),
      },
    }),
  );
  return { queueUrl: q.QueueUrl!, dlqUrl };
}
