// The reply a CloudFormation custom resource owes the stack: one PUT of a small JSON document to
// the pre-signed S3 URL in the event (reached from the VPC through the S3 gateway endpoint).
// Without it the deploy waits for the resource's ServiceTimeout and then fails.
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';

export interface CfnReply {
  status: 'SUCCESS' | 'FAILED';
  reason?: string;
  data?: Record<string, string>;
}

export async function replyToCloudFormation(
  event: CloudFormationCustomResourceEvent,
  context: Context | undefined,
  reply: CfnReply,
): Promise<undefined> {
  const physical =
    'PhysicalResourceId' in event && event.PhysicalResourceId
      ? event.PhysicalResourceId
      : `${event.LogicalResourceId}-${event.StackId.split('/').pop() ?? 'stack'}`;
  const body = JSON.stringify({
    Status: reply.status,
    // CloudFormation shows the reason in the stack events; keep it short.
    Reason: (reply.reason ?? `see ${context?.logStreamName ?? 'the function log'}`).slice(0, 1000),
    PhysicalResourceId: physical,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: reply.data ?? {},
  });
  const res = await fetch(event.ResponseURL, {
    method: 'PUT',
    body,
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
  });
  if (!res.ok) throw new Error(`CloudFormation reply rejected: HTTP ${res.status}`);
  return undefined;
}
