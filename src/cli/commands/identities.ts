import { createInterface } from 'node:readline/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { isObjectId } from '../../atlas/object-id.js';
import type { RoleInput } from '../../identity/admin.js';
import { ROLE_NAMES } from '../../identity/roles.js';
import { collect, controlCommand, objectId, onControl } from '../command.js';
import { CliError, type ControlApi, EXIT, type Shape } from '../control-api.js';
import { type Column, fields, type Output, show, table, when } from '../output.js';

// orgs, projects, api-keys, service-accounts: the identities of a running server, managed
// through its control API (control/identities.ts). JSON output is what these commands printed
// when they opened the store themselves: lists as arrays, deletes as {"deleted": id}.

interface Identity {
  id: string;
  name?: string;
  orgId?: string;
  description?: string;
  roles?: RoleInput[];
  accessList?: string[];
  createdAt: string;
  [secretOrName: string]: unknown;
}

function parseRole(value: string, previous: RoleInput[] = []): RoleInput[] {
  const [roleName, scope, ...rest] = value.split(':');
  if (!roleName || !scope || rest.length > 0 || !(ROLE_NAMES as readonly string[]).includes(roleName) || !isObjectId(scope)) {
    throw new InvalidArgumentError(`expected ROLE:ID, ROLE one of ${ROLE_NAMES.join(', ')} and ID 24 hexadecimal digits, e.g. ORG_OWNER:<orgId> or GROUP_OWNER:<projectId>`);
  }
  return [...previous, roleName.startsWith('ORG_') ? { orgId: scope, roleName } : { groupId: scope, roleName }];
}

const roles = (r: RoleInput[] = []) => r.map((x) => `${x.roleName}:${x.orgId ?? x.groupId}`).join(', ') || '-';
const accessList = (a: string[] = []) => a.join(', ') || 'any address';

/** One identity as `key: value` lines; a secret is pointed out, since it is never shown again. */
function describe(i: Identity, secretName?: string): string {
  const now = Date.now();
  const pairs: [string, string][] = Object.entries(i).map(([k, v]): [string, string] => {
    if (k === 'roles') return [k, roles(v as RoleInput[])];
    if (k === 'accessList') return [k, accessList(v as string[])];
    if (k.endsWith('At')) return [k, when(v as string, now)];
    return [k, v === '' ? '-' : String(v)];
  });
  const text = fields(pairs);
  return secretName && typeof i[secretName] === 'string' ? `${text}\n\nThe ${secretName} is shown only now: keep it.` : text;
}

const ago = (i: Identity) => when(i.createdAt, Date.now()).replace(/^.*\((.*)\)$/, '$1');

/** How each kind is listed, made and named. */
interface Kind {
  command: string;
  what: string;
  /** "an API key", "a project". */
  one: string;
  path: string;
  /** The property that names one (id, publicKey, clientId). */
  key: string;
  /** The secret a create or rotate answers with, once. */
  secret?: string;
  columns: Column<Identity>[];
}

const ID: Column<Identity> = { header: 'ID', value: (i) => i.id };
const ORG: Column<Identity> = { header: 'ORG', value: (i) => i.orgId ?? '-', wide: true };
const CREATED: Column<Identity> = { header: 'CREATED', value: ago };
const credentialColumns = (key: string, header: string): Column<Identity>[] => [
  { header, value: (i) => String(i[key]) },
  ORG,
  { header: 'ROLES', value: (i) => roles(i.roles), flex: true },
  { header: 'ACCESS LIST', value: (i) => accessList(i.accessList), wide: true },
  { header: 'DESCRIPTION', value: (i) => i.description || '-', flex: true },
  CREATED,
];

const ORGS: Kind = { command: 'orgs', what: 'organization', one: 'an organization', path: '/_snaplink/orgs', key: 'id', columns: [ID, { header: 'NAME', value: (i) => i.name ?? '', flex: true }, CREATED] };
const PROJECTS: Kind = { command: 'projects', what: 'project', one: 'a project', path: '/_snaplink/projects', key: 'id', columns: [ID, ORG, { header: 'NAME', value: (i) => i.name ?? '', flex: true }, CREATED] };
const API_KEYS: Kind = { command: 'api-keys', what: 'API key', one: 'an API key', path: '/_snaplink/api-keys', key: 'publicKey', secret: 'privateKey', columns: credentialColumns('publicKey', 'PUBLIC KEY') };
const SERVICE_ACCOUNTS: Kind = {
  command: 'service-accounts',
  what: 'service account',
  one: 'a service account',
  path: '/_snaplink/service-accounts',
  key: 'clientId',
  secret: 'clientSecret',
  columns: credentialColumns('clientId', 'CLIENT ID'),
};

const plural = (k: Kind) => `${k.what}s`;
const compact = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const LIST: Shape = { results: 'array' };

async function list(api: ControlApi, out: Output, k: Kind, orgId?: string): Promise<void> {
  const q = orgId ? `?${new URLSearchParams({ orgId })}` : '';
  const { results } = await api.call<{ results: Identity[] }>('GET', `${k.path}${q}`, undefined, LIST);
  show(out, results, (rows) => table(out, k.columns, rows, `No ${plural(k)}.`));
}

async function remove(api: ControlApi, out: Output, k: Kind, name: string): Promise<void> {
  await api.call('DELETE', `${k.path}/${encodeURIComponent(name)}`);
  show(out, { deleted: name }, () => `Deleted ${k.what} ${name}.`);
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** What deleting this organization or project takes with it, counted from the server, for the question. */
async function cascade(api: ControlApi, k: Kind, id: string): Promise<string> {
  const ids = async (path: string, q: Record<string, string>) => (await api.call<{ results: { id: string }[] }>('GET', `${path}?${new URLSearchParams(q)}`, undefined, LIST)).results;
  const endpointsOf = async (groupId: string) => (await ids('/_snaplink/endpoints', { groupId })).length;
  if (k === PROJECTS) return `${k.what} ${id} with its ${count(await endpointsOf(id), 'endpoint')}`;
  const projects = await ids(PROJECTS.path, { orgId: id });
  const endpoints = (await Promise.all(projects.map((p) => endpointsOf(p.id)))).reduce((a, b) => a + b, 0);
  const keys = (await ids(API_KEYS.path, { orgId: id })).length;
  const accounts = (await ids(SERVICE_ACCOUNTS.path, { orgId: id })).length;
  return `${k.what} ${id} with its ${count(projects.length, 'project')}, ${count(endpoints, 'endpoint')}, ${count(keys, 'API key')} and ${count(accounts, 'service account')}`;
}

/**
 * Deleting an organization or a project takes what it holds with it, so it is confirmed first, as
 * the Atlas CLI does: asked at a terminal, or --force. Without a terminal to ask at, --force is
 * needed: a script states it.
 */
async function confirmed(api: ControlApi, k: Kind, id: string, force: boolean): Promise<boolean> {
  if (force) return true;
  const what = k === ORGS ? "its projects, their endpoints, and the organization's API keys and service accounts" : 'its endpoints';
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new CliError(`deleting ${k.one} deletes ${what} too: add --force to confirm (there is no terminal to ask at)`, EXIT.usage);
  const question = `Delete ${await cascade(api, k, id)}? This cannot be undone. [y/N] `;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

const ORG_ID = objectId('an organization');
/** A create or rotate answers with the secret, once. */
const SECRET_SHAPE: Record<string, Shape> = { 'api-keys': { publicKey: 'string', privateKey: 'string' }, 'service-accounts': { clientId: 'string', clientSecret: 'string' } };

export function identityCommands(program: Command): void {
  const orgs = program.command('orgs').description('manage organizations');
  onControl(controlCommand(orgs, 'create', 'create an organization').requiredOption('--name <name>', 'organization name').option('--id <id>', 'a chosen id (24 hex digits); generated when absent', objectId('an organization')), async (api, { out, opts }) =>
    show(out, await api.call<Identity>('POST', ORGS.path, compact({ id: opts.id, name: opts.name }), { id: 'string' }), (i) => describe(i)),
  );
  onControl(controlCommand(orgs, 'list', 'list organizations'), (api, { out }) => list(api, out, ORGS));
  onControl(
    controlCommand(orgs, 'delete', 'delete an organization with its projects, endpoints and credentials (asks first)').argument('<id>', 'the organization', objectId('an organization')).option('-f, --force', 'do not ask'),
    async (api, { out, opts }, id) => {
      if (await confirmed(api, ORGS, id, opts.force === true)) await remove(api, out, ORGS, id);
      else process.stderr.write('Nothing was deleted.\n');
    },
  );

  const projects = program.command('projects').description('manage projects (groups)');
  onControl(
    controlCommand(projects, 'create', 'create a project')
      .requiredOption('--org <orgId>', 'owning organization', ORG_ID)
      .requiredOption('--name <name>', 'project name')
      .option('--id <id>', 'a chosen id (24 hex digits); generated when absent', objectId('a project')),
    async (api, { out, opts }) => show(out, await api.call<Identity>('POST', PROJECTS.path, compact({ id: opts.id, orgId: opts.org, name: opts.name }), { id: 'string' }), (i) => describe(i)),
  );
  onControl(controlCommand(projects, 'list', 'list projects').option('--org <orgId>', 'only this organization', ORG_ID), (api, { out, opts }) => list(api, out, PROJECTS, opts.org));
  onControl(
    controlCommand(projects, 'delete', 'delete a project with its endpoints (asks first)').argument('<id>', 'the project', objectId('a project')).option('-f, --force', 'do not ask'),
    async (api, { out, opts }, id) => {
      if (await confirmed(api, PROJECTS, id, opts.force === true)) await remove(api, out, PROJECTS, id);
      else process.stderr.write('Nothing was deleted.\n');
    },
  );

  // API keys and service accounts are managed alike; only their names and secrets differ.
  const credentialOptions = [
    { kind: API_KEYS, description: 'manage API keys (HTTP Digest credentials)', id: ['--public-key <key>', 'a chosen public key; generated when absent', 'publicKey'], secret: ['--private-key <key>', 'a chosen private key; generated when absent', 'privateKey'] },
    {
      kind: SERVICE_ACCOUNTS,
      description: 'manage service accounts (OAuth 2.0 client credentials)',
      id: ['--client-id <id>', 'a chosen client id; generated when absent', 'clientId'],
      secret: ['--client-secret <secret>', 'a chosen secret; generated when absent', 'clientSecret'],
    },
  ] as const;
  for (const { kind: k, description, id, secret } of credentialOptions) {
    const group = program.command(k.command).description(description);
    const one = (name: string) => `${k.path}/${encodeURIComponent(name)}`;
    onControl(
      controlCommand(group, 'create', `create ${k.one}; its secret is printed once`)
        .option('--org <orgId>', 'owning organization (implied by --role when absent)', ORG_ID)
        .option('--description <text>', 'description', '')
        .option('--role <ROLE:ID>', 'ORG_OWNER:<orgId>, ORG_GROUP_CREATOR:<orgId>, GROUP_OWNER:<projectId> or GROUP_READ_ONLY:<projectId> (repeatable)', parseRole)
        .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable; none means any address)', collect)
        .option(id[0], id[1])
        .option(secret[0], secret[1]),
      async (api, { out, opts }) => {
        if (opts.org === undefined && opts.role === undefined) throw new CliError(`${k.one} belongs to an organization: give --role ROLE:ID (the organization follows from it) or --org <orgId>`, EXIT.usage);
        const body = compact({ orgId: opts.org, description: opts.description, roles: opts.role ?? [], accessList: opts.accessList ?? [], [id[2]]: opts[id[2]], [secret[2]]: opts[secret[2]] });
        show(out, await api.call<Identity>('POST', k.path, body, SECRET_SHAPE[k.command]), (i) => describe(i, k.secret));
      },
    );
    onControl(controlCommand(group, 'list', `list ${plural(k)} (never their secrets)`).option('--org <orgId>', 'only this organization', ORG_ID), (api, { out, opts }) => list(api, out, k, opts.org));
    onControl(controlCommand(group, 'delete', `delete ${k.one}`).argument(`<${k.key}>`), (api, { out }, name) => remove(api, out, k, name!));
    onControl(controlCommand(group, 'rotate', 'a new secret, printed once; the old one stops working').argument(`<${k.key}>`), async (api, { out }, name) =>
      show(out, await api.call<Identity>('POST', `${one(name!)}/rotate`, undefined, SECRET_SHAPE[k.command]), (i) => describe(i, k.secret)),
    );
    onControl(
      controlCommand(group, 'set-roles', 'replace its roles').argument(`<${k.key}>`).requiredOption('--role <ROLE:ID>', 'a role (repeatable)', parseRole),
      async (api, { out, opts }, name) => show(out, await api.call<Identity>('PUT', `${one(name!)}/roles`, { roles: opts.role }, { roles: 'array' }), (i) => describe(i)),
    );
    onControl(
      controlCommand(group, 'set-access-list', 'replace its access list (none: any address)')
        .argument(`<${k.key}>`)
        .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable)', collect),
      async (api, { out, opts }, name) => show(out, await api.call<Identity>('PUT', `${one(name!)}/access-list`, { accessList: opts.accessList ?? [] }, { accessList: 'array' }), (i) => describe(i)),
    );
  }
}
