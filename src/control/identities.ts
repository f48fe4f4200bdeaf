import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../atlas/errors.js';
import * as admin from '../identity/admin.js';
import * as credentials from '../identity/credentials.js';
import type { Db } from '../store/database.js';
import { jsonObject as body, send } from './json.js';

// Managing identities over the control API: organizations, projects, API keys, service
// accounts, their roles and access lists, and secret rotation. The same operations as the CLI
// (identity/admin.ts, identity/credentials.ts); secrets appear only in the answer that made them.

const stringList = (v: unknown, name: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new admin.AdminError('invalid', `${name} must be a list of strings`);
  return v;
};
const roleList = (v: unknown): admin.RoleInput[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((r) => typeof r !== 'object' || r === null || typeof r.roleName !== 'string')) {
    throw new admin.AdminError('invalid', 'roles must be a list of {roleName, orgId} or {roleName, groupId}');
  }
  return v;
};
const optionalString = (v: unknown, name: string): string | undefined => {
  if (v !== undefined && typeof v !== 'string') throw new admin.AdminError('invalid', `${name} must be a string`);
  return v;
};

/** Runs an admin operation, answering its AdminError as an ApiError. */
async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof admin.AdminError)) throw err;
    const [status, code] = { invalid: [400, 'INVALID_ARGUMENT'], not_found: [404, 'RESOURCE_NOT_FOUND'], conflict: [409, 'ALREADY_EXISTS'] }[err.kind] as [number, string];
    throw new ApiError(status, code, `${err.message[0]!.toUpperCase()}${err.message.slice(1)}.`);
  }
}

export async function identityRoutes(app: FastifyInstance, db: Db): Promise<void> {
  const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name]!;
  const query = (request: FastifyRequest, name: string) => (request.query as Record<string, string | undefined>)[name];
  const list = (reply: FastifyReply, results: unknown[]) => send(reply, 200, { results, totalCount: results.length });

  app.get('/_snaplink/orgs', async (_req, reply) => list(reply, await admin.listOrganizations(db)));
  app.post('/_snaplink/orgs', async (req, reply) => {
    const b = body(req);
    return send(reply, 201, await run(() => admin.createOrganization(db, { id: optionalString(b.id, 'id'), name: b.name })));
  });
  app.delete('/_snaplink/orgs/:id', async (req, reply) => {
    await run(() => admin.deleteOrganization(db, param(req, 'id')));
    return reply.code(204).send();
  });

  app.get('/_snaplink/projects', async (req, reply) => list(reply, await admin.listProjects(db, query(req, 'orgId'))));
  app.post('/_snaplink/projects', async (req, reply) => {
    const b = body(req);
    return send(reply, 201, await run(() => admin.createProject(db, { id: optionalString(b.id, 'id'), orgId: String(b.orgId ?? ''), name: b.name })));
  });
  app.delete('/_snaplink/projects/:id', async (req, reply) => {
    await run(() => admin.deleteProject(db, param(req, 'id')));
    return reply.code(204).send();
  });

  const grantsOf = (b: Record<string, any>) => ({
    orgId: optionalString(b.orgId, 'orgId'),
    description: optionalString(b.description, 'description'),
    roles: roleList(b.roles),
    accessList: stringList(b.accessList, 'accessList'),
  });

  app.get('/_snaplink/api-keys', async (req, reply) => list(reply, await credentials.listApiKeys(db, query(req, 'orgId'))));
  app.post('/_snaplink/api-keys', async (req, reply) => {
    const b = body(req);
    return send(
      reply,
      201,
      await run(() =>
        credentials.createApiKey(db, { ...grantsOf(b), publicKey: optionalString(b.publicKey, 'publicKey'), privateKey: optionalString(b.privateKey, 'privateKey') }),
      ),
    );
  });

  app.get('/_snaplink/service-accounts', async (req, reply) => list(reply, await credentials.listServiceAccounts(db, query(req, 'orgId'))));
  app.post('/_snaplink/service-accounts', async (req, reply) => {
    const b = body(req);
    return send(
      reply,
      201,
      await run(() =>
        credentials.createServiceAccount(db, { ...grantsOf(b), clientId: optionalString(b.clientId, 'clientId'), clientSecret: optionalString(b.clientSecret, 'clientSecret') }),
      ),
    );
  });

  // The same four calls on either kind of credential.
  const kinds = [
    { path: '/_snaplink/api-keys/:name', kind: 'apiKey', remove: credentials.deleteApiKey, rotate: credentials.rotateApiKey },
    { path: '/_snaplink/service-accounts/:name', kind: 'serviceAccount', remove: credentials.deleteServiceAccount, rotate: credentials.rotateServiceAccountSecret },
  ] as const;
  for (const k of kinds) {
    app.delete(k.path, async (req, reply) => {
      await run(() => k.remove(db, param(req, 'name')));
      return reply.code(204).send();
    });
    app.put(`${k.path}/roles`, async (req, reply) => {
      const roles = roleList(body(req).roles);
      return send(reply, 200, await run(() => credentials.setRoles(db, k.kind, param(req, 'name'), roles)));
    });
    app.put(`${k.path}/access-list`, async (req, reply) => {
      const entries = stringList(body(req).accessList, 'accessList');
      return send(reply, 200, await run(() => credentials.setAccessList(db, k.kind, param(req, 'name'), entries)));
    });
    app.post(`${k.path}/rotate`, async (req, reply) => send(reply, 200, await run((): Promise<unknown> => k.rotate(db, param(req, 'name')))));
  }
}
