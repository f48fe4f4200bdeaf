import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { ApiError } from '../atlas/errors.js';
import type { Operation } from '../faults/model.js';
import type { FaultService } from '../faults/service.js';

// API faults (added latency, an injected error) act once a request has passed the checks a
// real Atlas would make first — so an injected 503 still needs valid credentials — and before
// the store, so an injected error changes nothing.

export async function injectRequestFaults(reply: FastifyReply, faults: FaultService, operation: Operation, groupId: string, regionName?: string): Promise<void> {
  const live = await faults.live(['LATENCY', 'HTTP_ERROR']);
  if (live.length === 0) return;
  const ctx = { groupId, regionName, operation };
  const latency = await faults.fire('LATENCY', ctx, live);
  // The journal tells which fault made (or slowed) an answer.
  if (latency) reply.journalNote = { ...reply.journalNote, faultId: latency.id };
  if (latency?.latencyMs) await sleep(latency.latencyMs);
  const failure = await faults.fire('HTTP_ERROR', ctx, live);
  if (failure) {
    reply.journalNote = { ...reply.journalNote, faultId: failure.id };
    throw new ApiError(failure.status!, failure.errorCode!, failure.detail ?? 'Injected fault.');
  }
}
