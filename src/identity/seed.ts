import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { isObjectId, newObjectId } from '../atlas/object-id.js';
import { type Db, exclusively, type Store } from '../store/database.js';
import { AdminError, resolveGrants, type RoleInput } from './admin.js';
import { checkClientCredentials, checkKeyPair } from './credentials.js';
import { hashSecret, verifySecret } from './secrets.js';
import { keyHashes } from './api-keys.js';
import * as repo from './repository.js';
import type { RoleGrant } from './roles.js';

// The seed file: a declarative, reproducible world (organizations, projects, credentials with
// known secrets) for CI. It is applied in one transaction: an invalid seed changes nothing, and
// applying the same seed again changes nothing either.

export interface SeedFile {
  organizations?: { id: string; name: string }[];
  projects?: { id: string; orgId: string; name: string }[];
  apiKeys?: {
    publicKey: string;
    privateKey: string;
    description?: string;
    orgId?: string;
    roles?: RoleInput[];
    accessList?: string[];
  }[];
  serviceAccounts?: {
    clientId: string;
    clientSecret: string;
    description?: string;
    orgId?: string;
    roles?: RoleInput[];
    accessList?: string[];
  }[];
}

const role = {
  type: 'object',
  additionalProperties: false,
  required: ['roleName'],
  properties: { roleName: { type: 'string' }, orgId: { type: 'string' }, groupId: { type: 'string' } },
};

const seedSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    organizations: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
    },
    projects: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'orgId', 'name'],
        properties: { id: { type: 'string' }, orgId: { type: 'string' }, name: { type: 'string' } },
      },
    },
    apiKeys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['publicKey', 'privateKey'],
        properties: {
          publicKey: { type: 'string' },
          privateKey: { type: 'string' },
          description: { type: 'string' },
          orgId: { type: 'string' },
          roles: { type: 'array', items: role },
          accessList: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    serviceAccounts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['clientId', 'clientSecret'],
        properties: {
          clientId: { type: 'string' },
          clientSecret: { type: 'string' },
          description: { type: 'string' },
          orgId: { type: 'string' },
          roles: { type: 'array', items: role },
          accessList: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

const validateShape = new Ajv({ allErrors: false }).compile<SeedFile>(seedSchema);

export class SeedError extends Error {
  constructor(message: string) {
    super(`invalid seed: ${message}`);
    this.name = 'SeedError';
  }
}

export interface SeedReport {
  created: number;
  updated: number;
  unchanged: number;
}

export function readSeedFile(path: string): SeedFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SeedError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SeedError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return checkSeedShape(parsed);
}

export function checkSeedShape(parsed: unknown): SeedFile {
  if (!validateShape(parsed)) {
    const e = validateShape.errors?.[0];
    throw new SeedError(`${e?.instancePath || '(root)'} ${e?.message ?? 'is invalid'}`);
  }
  return parsed;
}

function duplicates(values: string[]): string | undefined {
  return values.find((v, i) => values.indexOf(v) !== i);
}

/**
 * Applies a seed atomically; throws SeedError naming the first bad entry and applies nothing.
 * Nodes starting together with the same seed apply it one after the other.
 */
export async function applySeed(store: Pick<Store, 'db' | 'dialect'>, seed: SeedFile): Promise<SeedReport> {
  const orgs = seed.organizations ?? [];
  const projects = seed.projects ?? [];
  const keys = seed.apiKeys ?? [];
  const dupOrg = duplicates(orgs.map((o) => o.id));
  if (dupOrg) throw new SeedError(`organization id ${dupOrg} is declared twice`);
  const dupProject = duplicates(projects.map((p) => p.id));
  if (dupProject) throw new SeedError(`project id ${dupProject} is declared twice`);
  const dupKey = duplicates(keys.map((k) => k.publicKey));
  if (dupKey) throw new SeedError(`API key ${dupKey} is declared twice`);
  const accounts = seed.serviceAccounts ?? [];
  const dupAccount = duplicates(accounts.map((a) => a.clientId));
  if (dupAccount) throw new SeedError(`service account ${dupAccount} is declared twice`);

  const report: SeedReport = { created: 0, updated: 0, unchanged: 0 };
  const count = (existed: boolean, changed: boolean) => {
    if (!existed) report.created++;
    else if (changed) report.updated++;
    else report.unchanged++;
  };
  const now = Date.now();

  await exclusively(store, 'seed', async (trx: Db) => {
    const entry = async (label: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (err) {
        if (err instanceof AdminError || err instanceof SeedError) throw new SeedError(`${label}: ${err.message.replace(/^invalid seed: /, '')}`);
        throw err;
      }
    };

    for (const [i, o] of orgs.entries()) {
      await entry(`organizations[${i}] (${o.id})`, async () => {
        if (!isObjectId(o.id)) throw new SeedError('id must be 24 lowercase hexadecimal digits');
        if (o.name.trim() === '') throw new SeedError('name must not be empty');
        const existing = await repo.getOrganization(trx, o.id);
        const changed = existing?.name !== o.name;
        count(!!existing, changed);
        // Nothing is written that would not change: a start that applies an unchanged seed writes
        // nothing, so it starts (and serves reads) on a full disk.
        if (changed) await repo.putOrganization(trx, { id: o.id, name: o.name, createdAt: existing?.createdAt ?? now });
      });
    }

    for (const [i, p] of projects.entries()) {
      await entry(`projects[${i}] (${p.id})`, async () => {
        if (!isObjectId(p.id)) throw new SeedError('id must be 24 lowercase hexadecimal digits');
        if (p.name.trim() === '') throw new SeedError('name must not be empty');
        if (!(await repo.getOrganization(trx, p.orgId))) throw new SeedError(`organization ${p.orgId} is neither in the seed nor in the store`);
        const existing = await repo.getProject(trx, p.id);
        const changed = existing?.name !== p.name || existing?.orgId !== p.orgId;
        count(!!existing, changed);
        if (changed) await repo.putProject(trx, { id: p.id, orgId: p.orgId, name: p.name, createdAt: existing?.createdAt ?? now });
      });
    }

    /** Whether a credential's organization, description and grants differ from the seed's. */
    const grantsDiffer = async (existing: { id: string; orgId: string; description: string }, want: { orgId: string; description: string; grants: RoleGrant[]; accessList: string[] }) => {
      const before = await repo.loadGrants(trx, existing.id);
      const sameRoles = before.roles.length === want.grants.length && want.grants.every((g) => before.roles.some((r) => r.scopeId === g.scopeId && r.roleName === g.roleName));
      const sameList = [...before.accessList].sort().join() === [...want.accessList].sort().join();
      return !sameRoles || !sameList || existing.orgId !== want.orgId || existing.description !== want.description;
    };

    for (const [i, k] of keys.entries()) {
      await entry(`apiKeys[${i}] (${k.publicKey})`, async () => {
        checkKeyPair(k.publicKey, k.privateKey);
        const { orgId, grants, accessList } = await resolveGrants(trx, k.orgId, k.roles ?? [], k.accessList ?? []);
        const existing = await repo.getApiKeyRow(trx, k.publicKey);
        const row: repo.ApiKeyRow = {
          id: existing?.id ?? newObjectId(),
          orgId,
          publicKey: k.publicKey,
          description: k.description ?? '',
          ...keyHashes(k.publicKey, k.privateKey),
          createdAt: existing?.createdAt ?? now,
        };
        const changed = !existing || existing.ha1Md5 !== row.ha1Md5 || (await grantsDiffer(existing, { ...row, grants, accessList }));
        count(!!existing, changed);
        if (changed) {
          await repo.putApiKey(trx, row);
          await repo.replaceGrants(trx, row.id, grants, accessList);
        }
      });
    }

    for (const [i, a] of accounts.entries()) {
      await entry(`serviceAccounts[${i}] (${a.clientId})`, async () => {
        checkClientCredentials(a.clientId, a.clientSecret);
        const { orgId, grants, accessList } = await resolveGrants(trx, a.orgId, a.roles ?? [], a.accessList ?? []);
        const existing = await repo.getServiceAccountRow(trx, a.clientId);
        // scrypt hashes are salted: the stored one is kept when the seed's secret still matches it.
        const sameSecret = existing !== undefined && (await verifySecret(a.clientSecret, existing.secretHash));
        const row: repo.ServiceAccountRow = {
          id: existing?.id ?? newObjectId(),
          orgId,
          clientId: a.clientId,
          description: a.description ?? '',
          secretHash: sameSecret ? existing.secretHash : await hashSecret(a.clientSecret),
          createdAt: existing?.createdAt ?? now,
          secretCreatedAt: sameSecret ? existing.secretCreatedAt : now,
        };
        const changed = !existing || !sameSecret || (await grantsDiffer(existing, { ...row, grants, accessList }));
        count(!!existing, changed);
        if (changed) {
          await repo.putServiceAccount(trx, row);
          await repo.replaceGrants(trx, row.id, grants, accessList);
          if (existing && !sameSecret) await repo.revokeTokensOf(trx, row.id, now);
        }
      });
    }
  });
  return report;
}
