import { type Command, InvalidArgumentError } from 'commander';
import type { RoleInput } from '../../identity/admin.js';
import { collect, controlCommand, onControl } from '../command.js';
import type { ControlApi } from '../control-api.js';
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
  if (!roleName || !scope || rest.length > 0) throw new InvalidArgumentError('expected ROLE:ID, e.g. ORG_OWNER:<orgId> or GROUP_OWNER:<projectId>');
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
  path: string;
  /** The property that names one (id, publicKey, clientId). */
  key: string;
  /** The secret a create or rotate answers with, once. */
  secret?: string;
  columns: Column<Identity>[];
}

const ID: Column<Identity> = { header: 'ID', value: (i) => i.id };
const ORG: Column<Identity> = { header: 'ORG', value: (i) => i.orgId ?? '-' };
const CREATED: Column<Identity> = { header: 'CREATED', value: ago };
const credentialColumns = (key: string, header: string): Column<Identity>[] => [
  { header, value: (i) => String(i[key]) },
  ORG,
  { header: 'ROLES', value: (i) => roles(i.roles) },
  { header: 'ACCESS LIST', value: (i) => accessList(i.accessList) },
  { header: 'DESCRIPTION', value: (i) => i.description || '-' },
  CREATED,
];

const ORGS: Kind = { command: 'orgs', what: 'organization', path: '/_snaplink/orgs', key: 'id', columns: [ID, { header: 'NAME', value: (i) => i.name ?? '' }, CREATED] };
const PROJECTS: Kind = { command: 'projects', what: 'project', path: '/_snaplink/projects', key: 'id', columns: [ID, ORG, { header: 'NAME', value: (i) => i.name ?? '' }, CREATED] };
const API_KEYS: Kind = { command: 'api-keys', what: 'API key', path: '/_snaplink/api-keys', key: 'publicKey', secret: 'privateKey', columns: credentialColumns('publicKey', 'PUBLIC KEY') };
const SERVICE_ACCOUNTS: Kind = {
  command: 'service-accounts',
  what: 'service account',
  path: '/_snaplink/service-accounts',
  key: 'clientId',
  secret: 'clientSecret',
  columns: credentialColumns('clientId', 'CLIENT ID'),
};

const plural = (k: Kind) => `${k.what}s`;
const compact = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

async function list(api: ControlApi, out: Output, k: Kind, orgId?: string): Promise<void> {
  const q = orgId ? `?${new URLSearchParams({ orgId })}` : '';
  const { results } = await api.call<{ results: Identity[] }>('GET', `${k.path}${q}`);
  show(out, results, (rows) => table(out, k.columns, rows, `No ${plural(k)}.`));
}

async function remove(api: ControlApi, out: Output, k: Kind, name: string): Promise<void> {
  await api.call('DELETE', `${k.path}/${encodeURIComponent(name)}`);
  show(out, { deleted: name }, () => `Deleted ${k.what} ${name}.`);
}

export function identityCommands(program: Command): void {
  const orgs = program.command('orgs').description('manage organizations');
  onControl(controlCommand(orgs, 'create', 'create an organization').requiredOption('--name <name>', 'organization name').option('--id <id>', 'a chosen id (24 hex digits); generated when absent'), async (api, { out, opts }) =>
    show(out, await api.call<Identity>('POST', ORGS.path, compact({ id: opts.id, name: opts.name })), (i) => describe(i)),
  );
  onControl(controlCommand(orgs, 'list', 'list organizations'), (api, { out }) => list(api, out, ORGS));
  onControl(controlCommand(orgs, 'delete', 'delete an organization with its projects, endpoints and credentials').argument('<id>'), (api, { out }, id) => remove(api, out, ORGS, id!));

  const projects = program.command('projects').description('manage projects (groups)');
  onControl(
    controlCommand(projects, 'create', 'create a project')
      .requiredOption('--org <orgId>', 'owning organization')
      .requiredOption('--name <name>', 'project name')
      .option('--id <id>', 'a chosen id (24 hex digits); generated when absent'),
    async (api, { out, opts }) => show(out, await api.call<Identity>('POST', PROJECTS.path, compact({ id: opts.id, orgId: opts.org, name: opts.name })), (i) => describe(i)),
  );
  onControl(controlCommand(projects, 'list', 'list projects').option('--org <orgId>', 'only this organization'), (api, { out, opts }) => list(api, out, PROJECTS, opts.org));
  onControl(controlCommand(projects, 'delete', 'delete a project with its endpoints').argument('<id>'), (api, { out }, id) => remove(api, out, PROJECTS, id!));

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
      controlCommand(group, 'create', `create ${k.what === 'API key' ? 'an' : 'a'} ${k.what}; its secret is printed once`)
        .option('--org <orgId>', 'owning organization (implied by --role when absent)')
        .option('--description <text>', 'description', '')
        .option('--role <ROLE:ID>', 'ORG_OWNER:<orgId>, ORG_GROUP_CREATOR:<orgId>, GROUP_OWNER:<projectId> or GROUP_READ_ONLY:<projectId> (repeatable)', parseRole)
        .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable; none means any address)', collect)
        .option(id[0], id[1])
        .option(secret[0], secret[1]),
      async (api, { out, opts }) => {
        const body = compact({ orgId: opts.org, description: opts.description, roles: opts.role ?? [], accessList: opts.accessList ?? [], [id[2]]: opts[id[2]], [secret[2]]: opts[secret[2]] });
        show(out, await api.call<Identity>('POST', k.path, body), (i) => describe(i, k.secret));
      },
    );
    onControl(controlCommand(group, 'list', `list ${plural(k)} (never their secrets)`).option('--org <orgId>', 'only this organization'), (api, { out, opts }) => list(api, out, k, opts.org));
    onControl(controlCommand(group, 'delete', `delete a ${k.what}`).argument(`<${k.key}>`), (api, { out }, name) => remove(api, out, k, name!));
    onControl(controlCommand(group, 'rotate', `give a ${k.what} a new secret (printed once); the old one stops working`).argument(`<${k.key}>`), async (api, { out }, name) =>
      show(out, await api.call<Identity>('POST', `${one(name!)}/rotate`), (i) => describe(i, k.secret)),
    );
    onControl(
      controlCommand(group, 'set-roles', `replace a ${k.what}'s roles`).argument(`<${k.key}>`).requiredOption('--role <ROLE:ID>', 'a role (repeatable)', parseRole),
      async (api, { out, opts }, name) => show(out, await api.call<Identity>('PUT', `${one(name!)}/roles`, { roles: opts.role }), (i) => describe(i)),
    );
    onControl(
      controlCommand(group, 'set-access-list', `replace a ${k.what}'s access list (no --access-list: any address)`)
        .argument(`<${k.key}>`)
        .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable)', collect),
      async (api, { out, opts }, name) => show(out, await api.call<Identity>('PUT', `${one(name!)}/access-list`, { accessList: opts.accessList ?? [] }), (i) => describe(i)),
    );
  }
}
