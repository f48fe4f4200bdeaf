import { errors, type FieldViolation } from '../atlas/errors.js';
import { isObjectId } from '../atlas/object-id.js';
import { groupRequestSchema, groupResponseSchema, groupUpdateSchema, NAME_PATTERN, resourceTagSchema } from '../atlas/schemas.js';
import type { ResourceTag } from '../identity/repository.js';

// Check 10 for the bodies of a project's create (Atlas's `Group`) and update (`GroupUpdate`),
// in the order Atlas reports problems — unknown attributes, missing ones, wrong JSON types,
// then values outside the official pattern or lengths — each rule
// listing in badRequestDetail everything it found.

const NAME = new RegExp(NAME_PATTERN, 'u');
/** Tag keys and values: 1 to 255 characters. */
const TAG_LENGTH = { min: resourceTagSchema.properties.key.minLength, max: resourceTagSchema.properties.key.maxLength };

type Kind = 'string' | 'boolean' | 'tags';
/** The attributes a schema (atlas/schemas.ts) takes, each with what its JSON must be. */
const kinds = (properties: Record<string, { type: string }>): Record<string, Kind> =>
  Object.fromEntries(Object.entries(properties).map(([k, p]) => [k, p.type === 'array' ? 'tags' : (p.type as Kind)]));
const WRITABLE = kinds(groupRequestSchema.properties);
/** What Atlas shows and ignores when a client sends it back (the Go SDK sends clusterCount and created). */
const READ_ONLY = new Set(Object.keys(groupResponseSchema.properties).filter((k) => !(k in WRITABLE)));
const UPDATABLE = kinds(groupUpdateSchema.properties);
/** Atlas for Government's alone: commercial Atlas rejects it in requests (the Go SDK's documentation of `Group`). */
const GOVERNMENT_ONLY = 'regionUsageRestrictions';

export interface ProjectCreate {
  name: string;
  orgId: string;
  tags: ResourceTag[];
  withDefaultAlertsSettings: boolean;
}

export interface ProjectUpdate {
  name?: string;
  tags?: ResourceTag[];
  withDefaultAlertsSettings?: boolean;
}

function parseObject(raw: Buffer | undefined): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw === undefined ? '' : raw.toString('utf8'));
  } catch {
    throw errors.malformedJson();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.invalidJson();
  return body as Record<string, unknown>;
}

const isTagList = (v: unknown) =>
  Array.isArray(v) && v.every((t) => typeof t === 'object' && t !== null && !Array.isArray(t) && typeof t.key === 'string' && typeof t.value === 'string' && Object.keys(t).every((k) => k === 'key' || k === 'value'));
const typeOk = (kind: Kind, v: unknown) => (kind === 'tags' ? isTagList(v) : typeof v === kind);
const describeKind = (kind: Kind) => (kind === 'tags' ? 'must be a list of {key, value} strings' : `must be a ${kind}`);

/** The rules every body goes through; `required` and `attributes` differ between a create and an update. */
function check(obj: Record<string, unknown>, attributes: Record<string, Kind>, required: readonly string[], ignored: ReadonlySet<string>): void {
  const keys = Object.keys(obj).filter((k) => !ignored.has(k));
  const unknown = keys.filter((k) => !Object.hasOwn(attributes, k));
  if (unknown.length > 0) {
    const why = (field: string) => (field === GOVERNMENT_ONLY ? 'applies to Atlas for Government only; commercial Atlas rejects it' : 'is not an attribute of this resource');
    throw errors.invalidAttribute(unknown[0]!, unknown.map((field) => ({ field, description: why(field) })));
  }

  // A JSON null is an absent value, as for the endpoints.
  const present = (k: string) => obj[k] !== undefined && obj[k] !== null;
  const missing = required.filter((k) => !present(k));
  if (missing.length > 0) throw errors.missingAttribute(missing[0]!, missing.map((field) => ({ field, description: 'is required' })));

  const mistyped: FieldViolation[] = keys.filter((k) => present(k) && !typeOk(attributes[k]!, obj[k])).map((field) => ({ field, description: describeKind(attributes[field]!) }));
  if (mistyped.length > 0) throw errors.invalidJsonAttribute(mistyped[0]!.field, mistyped);

  const invalid: FieldViolation[] = [];
  if (present('name') && !NAME.test(obj.name as string)) {
    invalid.push({ field: 'name', description: "must be 1 to 64 letters, digits or - _ . ( ) , : & @ + '" });
  }
  if (present('orgId') && !isObjectId(obj.orgId)) invalid.push({ field: 'orgId', description: 'must be 24 lowercase hexadecimal digits' });
  if (present('tags')) {
    const tags = obj.tags as ResourceTag[];
    tags.forEach((t, i) => {
      for (const part of ['key', 'value'] as const) {
        const n = [...t[part]].length;
        if (n < TAG_LENGTH.min || n > TAG_LENGTH.max) invalid.push({ field: `tags[${i}].${part}`, description: `must be ${TAG_LENGTH.min} to ${TAG_LENGTH.max} characters` });
      }
    });
  }
  if (invalid.length > 0) throw errors.invalidAttribute(invalid[0]!.field, invalid);
}

const optional = <T>(obj: Record<string, unknown>, k: string) => (obj[k] === undefined || obj[k] === null ? undefined : (obj[k] as T));

/** A create's body (bytes already known to be of an accepted media type). */
export function parseProjectCreate(raw: Buffer | undefined): ProjectCreate {
  const obj = parseObject(raw);
  check(obj, WRITABLE, groupRequestSchema.required, READ_ONLY);
  return {
    name: obj.name as string,
    orgId: obj.orgId as string,
    tags: optional<ResourceTag[]>(obj, 'tags')?.map(({ key, value }) => ({ key, value })) ?? [],
    withDefaultAlertsSettings: optional<boolean>(obj, 'withDefaultAlertsSettings') ?? true,
  };
}

/** An update's body: what it names is changed (tags replaced as a whole), the rest kept. */
export function parseProjectUpdate(raw: Buffer | undefined): ProjectUpdate {
  const obj = parseObject(raw);
  check(obj, UPDATABLE, [], new Set());
  const tags = optional<ResourceTag[]>(obj, 'tags');
  return {
    ...(optional(obj, 'name') !== undefined && { name: obj.name as string }),
    ...(tags !== undefined && { tags: tags.map(({ key, value }) => ({ key, value })) }),
    ...(optional(obj, 'withDefaultAlertsSettings') !== undefined && { withDefaultAlertsSettings: obj.withDefaultAlertsSettings as boolean }),
  };
}
