import { Command, InvalidArgumentError, Option } from 'commander';
import { startSnaplink, VERSION, type Snaplink } from './app.js';
import { int, serveOptions, storeOptions, type StoreOptionValues, toConfig, toStoreOptions, type ServeOptionValues } from './config.js';
import { resetAdminToken } from './control/admin-token.js';
import { FAULT_KINDS, OPERATIONS } from './faults/model.js';
import * as admin from './identity/admin.js';
import * as credentials from './identity/credentials.js';
import type { Bootstrapped } from './identity/bootstrap.js';
import { applySeed, readSeedFile, SeedError } from './identity/seed.js';
import { openStore, type Db, type Store } from './store/database.js';

// The `snaplink` command: serve, and manage the store's organizations, projects and API keys.
// Management commands print JSON so scripts can read them.

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** Runs `work` against the store named by --data-dir or --database, turning admin errors into exit code 1. */
async function withStore(opts: StoreOptionValues, work: (db: Db, store: Store) => Promise<unknown>): Promise<void> {
  const store = await openStore(toStoreOptions(opts));
  try {
    const result = await work(store.db, store);
    if (result !== undefined) print(result);
  } catch (err) {
    if (err instanceof admin.AdminError || err instanceof SeedError) {
      process.stderr.write(`snaplink: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await store.close();
  }
}

function storeCommand(parent: Command, name: string, description: string): Command {
  const c = parent.command(name).description(description);
  for (const o of storeOptions()) c.addOption(o);
  return c;
}

function parseRole(value: string, previous: admin.RoleInput[] = []): admin.RoleInput[] {
  const [roleName, scope, ...rest] = value.split(':');
  if (!roleName || !scope || rest.length > 0) throw new InvalidArgumentError('expected ROLE:ID, e.g. ORG_OWNER:<orgId> or GROUP_OWNER:<projectId>');
  return [...previous, roleName.startsWith('ORG_') ? { orgId: scope, roleName } : { groupId: scope, roleName }];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Options of commands that drive a running server through its control API. */
function controlCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(new Option('--url <url>', 'base URL of the running snaplink').env('SNAPLINK_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--admin-token <token>', 'the control API token').env('SNAPLINK_ADMIN_TOKEN'));
}

/** Calls the control API; prints the JSON answer, or the error and exit code 1. */
async function control(opts: { url: string; adminToken?: string }, method: string, path: string, body?: unknown): Promise<void> {
  if (!opts.adminToken) throw new Error('the control API needs --admin-token or SNAPLINK_ADMIN_TOKEN');
  const res = await fetch(new URL(path, opts.url), {
    method,
    headers: { authorization: `Bearer ${opts.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      detail = JSON.parse(text).detail ?? text;
    } catch {
      /* not JSON: show it as it is */
    }
    process.stderr.write(`snaplink: ${res.status} ${detail}\n`);
    process.exitCode = 1;
    return;
  }
  if (text !== '') print(JSON.parse(text));
}

const number = (what: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number (${what})`);
  return n;
};

function printBanner(s: Snaplink, b: Bootstrapped | undefined, adminToken: string | undefined): void {
  const lines = [''];
  if (adminToken) {
    lines.push('snaplink: the control API token was generated; it is shown only now (or set SNAPLINK_ADMIN_TOKEN):', `  admin token   ${adminToken}`, '');
  }
  if (b) lines.push(...worldBanner(s, b));
  process.stderr.write(lines.join('\n') + '\n');
}

function worldBanner(s: Snaplink, b: Bootstrapped): string[] {
  const k = b.apiKey;
  return [
      'snaplink: the store was empty, so a default world was created. The private key is shown only now:',
      `  organization  ${b.orgId}  (Default Organization)`,
      `  project       ${b.projectId}  (Default Project)`,
      `  API key       public ${k.publicKey}  private ${k.privateKey}  (ORG_OWNER)`,
      '  try:',
      `  curl --digest -u '${k.publicKey}:${k.privateKey}' -H 'Accept: application/vnd.atlas.2024-11-13+json' \\`,
      `    ${s.url}/api/atlas/v2/groups/${b.projectId}/backup/AWS/privateEndpoints`,
      '',
  ];
}

export function buildProgram(): Command {
  const program = new Command('snaplink')
    .description('A wire-faithful MongoDB Atlas Admin API v2 server for Cloud Backup object-storage private endpoints')
    .version(VERSION);

  const serve = program.command('serve').description('run the API server');
  for (const o of serveOptions()) serve.addOption(o);
  serve.action(async (opts: ServeOptionValues) => {
    const s = await startSnaplink(toConfig(opts));
    if (s.bootstrapped || s.generatedAdminToken) printBanner(s, s.bootstrapped, s.generatedAdminToken);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      s.http.log.info({ signal }, 'shutting down: finishing in-flight requests');
      s.close().then(
        () => process.exit(0),
        (err) => {
          s.http.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

  storeCommand(program, 'seed', 'apply a seed file to the store (atomic and idempotent)')
    .argument('<file>', 'seed file (JSON)')
    .action((file: string, opts) => withStore(opts, (_db, store) => applySeed(store, readSeedFile(file))));

  const orgs = program.command('orgs').description('manage organizations');
  storeCommand(orgs, 'create', 'create an organization')
    .requiredOption('--name <name>', 'organization name')
    .option('--id <id>', 'a chosen id (24 hex digits); generated when absent')
    .action((opts) => withStore(opts, (db) => admin.createOrganization(db, { id: opts.id, name: opts.name })));
  storeCommand(orgs, 'list', 'list organizations').action((opts) => withStore(opts, (db) => admin.listOrganizations(db)));
  storeCommand(orgs, 'delete', 'delete an organization with its projects, endpoints and credentials')
    .argument('<id>')
    .action((id: string, opts) => withStore(opts, async (db) => (await admin.deleteOrganization(db, id), { deleted: id })));

  const projects = program.command('projects').description('manage projects (groups)');
  storeCommand(projects, 'create', 'create a project')
    .requiredOption('--org <orgId>', 'owning organization')
    .requiredOption('--name <name>', 'project name')
    .option('--id <id>', 'a chosen id (24 hex digits); generated when absent')
    .action((opts) => withStore(opts, (db) => admin.createProject(db, { id: opts.id, orgId: opts.org, name: opts.name })));
  storeCommand(projects, 'list', 'list projects')
    .option('--org <orgId>', 'only this organization')
    .action((opts) => withStore(opts, (db) => admin.listProjects(db, opts.org)));
  storeCommand(projects, 'delete', 'delete a project with its endpoints')
    .argument('<id>')
    .action((id: string, opts) => withStore(opts, async (db) => (await admin.deleteProject(db, id), { deleted: id })));

  // API keys and service accounts are managed alike; only their names and secrets differ.
  const kinds = [
    {
      command: 'api-keys',
      what: 'API key',
      description: 'manage API keys (HTTP Digest credentials)',
      kind: 'apiKey',
      name: '<publicKey>',
      idOption: ['--public-key <key>', 'a chosen public key; generated when absent'],
      secretOption: ['--private-key <key>', 'a chosen private key; generated when absent'],
      create: (db: Db, grants: credentials.CredentialGrants, o: any) => credentials.createApiKey(db, { ...grants, publicKey: o.publicKey, privateKey: o.privateKey }),
      list: credentials.listApiKeys,
      remove: credentials.deleteApiKey,
      rotate: credentials.rotateApiKey,
    },
    {
      command: 'service-accounts',
      what: 'service account',
      description: 'manage service accounts (OAuth 2.0 client credentials)',
      kind: 'serviceAccount',
      name: '<clientId>',
      idOption: ['--client-id <id>', 'a chosen client id; generated when absent'],
      secretOption: ['--client-secret <secret>', 'a chosen secret; generated when absent'],
      create: (db: Db, grants: credentials.CredentialGrants, o: any) => credentials.createServiceAccount(db, { ...grants, clientId: o.clientId, clientSecret: o.clientSecret }),
      list: credentials.listServiceAccounts,
      remove: credentials.deleteServiceAccount,
      rotate: credentials.rotateServiceAccountSecret,
    },
  ] as const;
  for (const k of kinds) {
    const group = program.command(k.command).description(k.description);
    storeCommand(group, 'create', `create a ${k.what}; its secret is printed once`)
      .option('--org <orgId>', 'owning organization (implied by --role when absent)')
      .option('--description <text>', 'description', '')
      .option('--role <ROLE:ID>', 'ORG_OWNER:<orgId>, GROUP_OWNER:<projectId> or GROUP_READ_ONLY:<projectId> (repeatable)', parseRole)
      .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable; none means any address)', collect)
      .option(k.idOption[0], k.idOption[1])
      .option(k.secretOption[0], k.secretOption[1])
      .action((opts) =>
        withStore(opts, (db) => k.create(db, { orgId: opts.org, description: opts.description, roles: opts.role ?? [], accessList: opts.accessList ?? [] }, opts)),
      );
    storeCommand(group, 'list', `list ${k.what}s (never their secrets)`)
      .option('--org <orgId>', 'only this organization')
      .action((opts) => withStore(opts, (db) => k.list(db, opts.org)));
    storeCommand(group, 'delete', `delete a ${k.what}`)
      .argument(k.name)
      .action((name: string, opts) => withStore(opts, async (db) => (await k.remove(db, name), { deleted: name })));
    storeCommand(group, 'rotate', `give a ${k.what} a new secret (printed once); the old one stops working`)
      .argument(k.name)
      .action((name: string, opts) => withStore(opts, (db) => k.rotate(db, name)));
    storeCommand(group, 'set-roles', `replace a ${k.what}'s roles`)
      .argument(k.name)
      .requiredOption('--role <ROLE:ID>', 'a role (repeatable)', parseRole)
      .action((name: string, opts) => withStore(opts, (db) => credentials.setRoles(db, k.kind, name, opts.role)));
    storeCommand(group, 'set-access-list', `replace a ${k.what}'s access list (no --access-list: any address)`)
      .argument(k.name)
      .option('--access-list <cidr>', 'allowed address or CIDR block (repeatable)', collect)
      .action((name: string, opts) => withStore(opts, (db) => credentials.setAccessList(db, k.kind, name, opts.accessList ?? [])));
  }

  storeCommand(program.command('admin-token').description('the control API token'), 'reset', 'replace the stored control API token; prints the new one once').action((opts) =>
    withStore(opts, async (db) => ({ adminToken: await resetAdminToken(db) })),
  );

  // ——— driving a running server through its control API ———

  controlCommand(program, 'endpoints', 'list every endpoint with its status and next transition')
    .option('--group <groupId>', 'only this project')
    .option('--status <status>', 'only this status')
    .action((opts) => {
      const q = new URLSearchParams();
      if (opts.group) q.set('groupId', opts.group);
      if (opts.status) q.set('status', opts.status);
      return control(opts, 'GET', `/_snaplink/endpoints?${q}`);
    });

  const faults = program.command('faults').description('inject faults into a running server');
  controlCommand(faults, 'add', 'add a fault')
    .requiredOption('--kind <kind>', FAULT_KINDS.join(', '))
    .option('--group <groupId>', 'only in this project')
    .option('--region <regionName>', 'only for this region (e.g. US_EAST_1)')
    .option('--operation <operation>', `only for this operation: ${OPERATIONS.join(', ')} (HTTP_ERROR, LATENCY)`)
    .option('--count <n>', 'fire this many times, then stop', int(1, Number.MAX_SAFE_INTEGER))
    .option('--probability <p>', 'fire with this chance (0 to 1) on each match', number('probability'))
    .option('--seed <n>', 'seed of the probability sequence (reproducible firings)', int(0, 2 ** 31 - 1))
    .option('--message <text>', 'FAIL_PROVISIONING: the errorMessage')
    .option('--status <code>', 'HTTP_ERROR: the HTTP status', int(400, 599))
    .option('--error-code <code>', 'HTTP_ERROR: the errorCode')
    .option('--detail <text>', 'HTTP_ERROR: the detail')
    .option('--latency-ms <ms>', 'LATENCY: added milliseconds', int(1, 600_000))
    .option('--after-seconds <s>', 'LOSE_ENDPOINT: how long after becoming ACTIVE', number('seconds'))
    .action((opts) => {
      const spec = {
        kind: opts.kind,
        groupId: opts.group,
        regionName: opts.region,
        operation: opts.operation,
        count: opts.count,
        probability: opts.probability,
        seed: opts.seed,
        message: opts.message,
        status: opts.status,
        errorCode: opts.errorCode,
        detail: opts.detail,
        latencyMs: opts.latencyMs,
        afterSeconds: opts.afterSeconds,
      };
      return control(opts, 'POST', '/_snaplink/faults', Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)));
    });
  controlCommand(faults, 'list', 'list faults with how often each matched and fired').action((opts) => control(opts, 'GET', '/_snaplink/faults'));
  controlCommand(faults, 'remove', 'remove a fault')
    .argument('<id>')
    .action((id: string, opts) => control(opts, 'DELETE', `/_snaplink/faults/${encodeURIComponent(id)}`));

  const clock = program.command('clock').description('the lifecycle’s virtual clock');
  controlCommand(clock, 'advance', 'fast-forward every pending transition')
    .argument('<seconds>', 'how far', number('seconds'))
    .action((seconds: number, opts) => control(opts, 'POST', '/_snaplink/clock/advance', { seconds }));
  controlCommand(clock, 'show', 'the clock’s offset and current time').action((opts) => control(opts, 'GET', '/_snaplink/clock'));

  controlCommand(program, 'reset', 'delete every endpoint and fault and reset the clock (identities stay)').action((opts) =>
    control(opts, 'POST', '/_snaplink/reset'),
  );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
