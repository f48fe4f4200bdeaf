import { errors, type FieldViolation } from '../atlas/errors.js';
import { endpointRequestSchema, endpointResponseSchema } from '../atlas/schemas.js';
import type { AwsRegion, CloudProvider } from '../atlas/regions.js';
import type { EndpointSpec } from './model.js';

// Check 10 for a create body, driven by the request schema in atlas/schemas.ts. Atlas reports
// problems in a fixed order — unknown or read-only attributes, then missing ones, then wrong
// JSON types, then values outside an enum — so the rules run in that order; the first rule
// that finds anything answers, and badRequestDetail lists everything that rule found.

type PropertySchema = { type: string; enum?: readonly string[] };
const properties: Record<string, PropertySchema> = endpointRequestSchema.properties;
const required: readonly string[] = endpointRequestSchema.required;
const readOnly = new Set(Object.keys(endpointResponseSchema.properties).filter((k) => !(k in properties)));

/** Parses a raw create body (bytes already known to be of an accepted media type). */
export function parseCreateBody(raw: Buffer | undefined): EndpointSpec {
  const text = raw === undefined ? '' : raw.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw errors.malformedJson();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.invalidJson();
  const obj = body as Record<string, unknown>;
  const keys = Object.keys(obj);

  const unknown = keys.filter((k) => !Object.hasOwn(properties, k));
  if (unknown.length > 0) {
    throw errors.invalidAttribute(
      unknown[0]!,
      unknown.map((field) => ({ field, description: readOnly.has(field) ? 'is read-only' : 'is not an attribute of this resource' })),
    );
  }

  // A JSON null is an absent value: Atlas's deserializer treats it the same way.
  const present = (k: string) => obj[k] !== undefined && obj[k] !== null;
  const missing = required.filter((k) => !present(k));
  if (missing.length > 0) {
    throw errors.missingAttribute(missing[0]!, missing.map((field) => ({ field, description: 'is required' })));
  }

  const mistyped: FieldViolation[] = keys
    .filter((k) => present(k) && typeof obj[k] !== properties[k]!.type)
    .map((field) => ({ field, description: `must be a ${properties[field]!.type}` }));
  if (mistyped.length > 0) throw errors.invalidJsonAttribute(mistyped[0]!.field, mistyped);

  const outOfEnum = keys.filter((k) => present(k) && properties[k]!.enum && !properties[k]!.enum!.includes(obj[k] as string));
  if (outOfEnum.length > 0) {
    throw errors.invalidEnumValue(
      String(obj[outOfEnum[0]!]),
      outOfEnum.map((field) => ({ field, description: `must be one of ${properties[field]!.enum!.join(', ')}` })),
    );
  }

  const regionName = obj.regionName as AwsRegion;
  return {
    cloudProvider: obj.cloudProvider as CloudProvider,
    regionName,
    vpcRegionName: present('vpcRegionName') ? (obj.vpcRegionName as AwsRegion) : regionName,
  };
}
