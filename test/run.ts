// `npm test`: prepares what the suites need, then runs every suite against the embedded SQLite
// store, then again against PostgreSQL (plus the suites only PostgreSQL can run: several nodes,
// a database outage), then the benchmark's quick mode.
//
// What it prepares, each by an idempotent script in test/setup/ (nothing is installed by hand):
// - PostgreSQL: the machine's cluster started, a role and database for the tests
//   (postgres.sh), unless SNAPLINK_TEST_POSTGRES_URL names one of your own;
// - Python: a virtual environment with the pinned test/clients/requirements.txt (python.sh);
// - the Atlas CLI, built from the Go module proxy into ~/.cache (atlas-cli.sh);
// - Debian packages some suites drive: zsh and fish (completion), jq (the docs' examples),
//   Chromium (the dashboard) (debian-packages.sh).
// SNAPLINK_TEST_STORES=sqlite runs SQLite only; SNAPLINK_TEST_BENCH=0 leaves the bench out.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { locateOfficialSpec, locateProjectsSpec, ORACLE_OFF_NOTICE } from './support/atlas-spec.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stores = (process.env.SNAPLINK_TEST_STORES ?? 'sqlite,postgres').split(',');
const files = (dir: string) => readdirSync(`${ROOT}/${dir}`).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${dir}/${f}`);
const env: Record<string, string> = { SNAPLINK_TEST_RUNNER: '1' };
/** What could not be prepared; the suites that need it skip, and the summary repeats it. */
const notices: string[] = [];

/**
 * Runs test/setup/<script>: its last line of stdout is what it made (a path, a URL). Its stderr
 * (progress, or the error) is passed on when it ends; on failure the last line of it is the
 * reason, kept as a notice for the summary.
 */
function setup(script: string, what: string): { made: string } | { why: string } {
  console.log(`# setup: ${what}`);
  const r = spawnSync('bash', [`${ROOT}/test/setup/${script}`], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  process.stderr.write(r.stderr);
  const made = r.stdout.trim().split('\n').pop()?.trim();
  if (r.status === 0 && made) return { made };
  const why = r.stderr.trim().split('\n').pop() || `test/setup/${script} exited ${r.status}`;
  notices.push(`${what}: ${why}`);
  return { why };
}

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

function run(label: string, testFiles: string[], extra: Record<string, string>): boolean {
  console.log(`\n# ——— ${label} ———`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env, ...extra },
  });
  return r.status === 0;
}

let ok = 'made' in python;
if (stores.includes('sqlite')) ok = run('every suite on SQLite', files('test'), { SNAPLINK_TEST_DATABASE_URL: '' }) && ok;
if (stores.includes('postgres')) {
  const prepared = process.env.SNAPLINK_TEST_POSTGRES_URL ? { made: process.env.SNAPLINK_TEST_POSTGRES_URL } : setup('postgres.sh', 'PostgreSQL for the tests');
  if ('made' in prepared) ok = run('every suite on PostgreSQL, and the scale-out suites', [...files('test'), ...files('test/postgres')], { SNAPLINK_TEST_DATABASE_URL: prepared.made }) && ok;
  else {
    console.error('PostgreSQL could not be prepared (above). Point SNAPLINK_TEST_POSTGRES_URL at one, or set SNAPLINK_TEST_STORES=sqlite.');
    ok = false;
  }
}
// The benchmark's quick mode: figures printed, no thresholds (machines here are shared and noisy);
// it fails only if the benchmark itself breaks.
if (process.env.SNAPLINK_TEST_BENCH !== '0') {
  console.log('\n# ——— npm run bench -- --quick ———');
  ok = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.mjs', '--quick'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } }).status === 0 && ok;
}
for (const n of notices) console.log(`\n!! ${n}`);
console.log(ok ? '\n# all passed' : '\n# FAILURES above');
process.exit(ok ? 0 : 1);
