import { Ajv } from 'ajv';
import { AWS_REGIONS } from '../atlas/regions.js';

// Faults a test can inject: the lifecycle's (fail provisioning, lose an ACTIVE endpoint) and the
// API's (answer an error, add latency). Each is matched by project, region and/or operation and
// fires a number of times, or with a probability drawn from its own seeded sequence.

export const FAULT_KINDS = ['FAIL_PROVISIONING', 'LOSE_ENDPOINT', 'HTTP_ERROR', 'LATENCY'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The resource's operations, as a fault names them. */
export const OPERATIONS = ['list', 'create', 'get', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface FaultParams {
  message?: string;
  status?: number;
  errorCode?: string;
  detail?: string;
  latencyMs?: number;
  afterSeconds?: number;
}

export interface FaultSpec extends FaultParams {
  kind: FaultKind;
  groupId?: string;
  regionName?: string;
  operation?: Operation;
  count?: number;
  probability?: number;
  seed?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  seed: number;
  /** Firings left; absent when unlimited. */
  remaining?: number;
  /** How many requests or transitions it matched, and how many times it fired. */
  matched: number;
  fired: number;
  createdAt: string;
}

/** Where a fault is being considered: what it may match. */
export interface FaultContext {
  groupId: string;
  regionName?: string;
  operation?: Operation;
}

export class FaultSpecError extends Error {}

/** Which settings each kind takes (beyond the matching and firing ones), and which it must have. */
export const KIND_PARAMS: Record<FaultKind, (keyof FaultParams)[]> = {
  FAIL_PROVISIONING: ['message'],
  LOSE_ENDPOINT: ['afterSeconds'],
  HTTP_ERROR: ['status', 'errorCode', 'detail'],
  LATENCY: ['latencyMs'],
};
export const KIND_REQUIRED: Record<FaultKind, (keyof FaultParams)[]> = {
  FAIL_PROVISIONING: [],
  LOSE_ENDPOINT: [],
  HTTP_ERROR: ['status', 'errorCode'],
  LATENCY: ['latencyMs'],
};

const ID = { type: 'string', pattern: '^[a-f0-9]{24}$' };
const specSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { enum: [...FAULT_KINDS] },
    groupId: ID,
    regionName: { enum: [...AWS_REGIONS] },
    operation: { enum: [...OPERATIONS] },
    count: { type: 'integer', minimum: 1 },
    probability: { type: 'number', minimum: 0, maximum: 1 },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
    message: { type: 'string', minLength: 1, maxLength: 1024 },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    errorCode: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,99}$' },
    detail: { type: 'string', maxLength: 1024 },
    latencyMs: { type: 'integer', minimum: 1, maximum: 600_000 },
    afterSeconds: { type: 'number', minimum: 0, maximum: 86_400 },
  },
  allOf: FAULT_KINDS.filter((k) => KIND_REQUIRED[k].length > 0).map((k) => ({ if: { properties: { kind: { const: k } } }, then: { required: KIND_REQUIRED[k] } })),
};
const validate = new Ajv({ allErrors: false }).compile<FaultSpec>(specSchema);

const ALL_PARAMS: (keyof FaultParams)[] = ['message', 'status', 'errorCode', 'detail', 'latencyMs', 'afterSeconds'];

export function parseFaultSpec(input: unknown): FaultSpec {
  if (!validate(input)) {
    const e = validate.errors?.[0];
    throw new FaultSpecError(`${e?.instancePath || 'the fault'} ${e?.message ?? 'is invalid'}`.trim());
  }
  for (const p of ALL_PARAMS) {
    if (input[p] !== undefined && !KIND_PARAMS[input.kind].includes(p)) throw new FaultSpecError(`${p} does not apply to a ${input.kind} fault`);
  }
  if (input.operation !== undefined && (input.kind === 'FAIL_PROVISIONING' || input.kind === 'LOSE_ENDPOINT')) {
    throw new FaultSpecError(`operation does not apply to a ${input.kind} fault (it acts on the lifecycle, not on a request)`);
  }
  return input;
}

export function matches(f: FaultSpec, ctx: FaultContext): boolean {
  return (
    (f.groupId === undefined || f.groupId === ctx.groupId) &&
    (f.regionName === undefined || f.regionName === ctx.regionName) &&
    (f.operation === undefined || f.operation === ctx.operation)
  );
}
