// Runs every suite against the embedded SQLite store, then again against PostgreSQL (plus the
// suites only PostgreSQL can run: several nodes, a database outage). PostgreSQL is expected on
// SNAPLINK_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); if it does
// not answer, this starts the machine's cluster. SNAPLINK_TEST_STORES=sqlite runs SQLite only.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import pg from 'pg';

const POSTGRES_URL = process.env.SNAPLINK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const stores = (process.env.SNAPLINK_TEST_STORES ?? 'sqlite,postgres').split(',');
const files = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${dir}/${f}`);

async function postgresAnswers() {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensurePostgres() {
  if (await postgresAnswers()) return;
  console.log('# PostgreSQL does not answer; starting the local cluster');
  try {
    const version = readdirSync('/etc/postgresql')[0];
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  } catch (err) {
    console.error(`# could not start PostgreSQL: ${err.message}`);
  }
  for (let i = 0; i < 30; i++) {
    if (await postgresAnswers()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error(`PostgreSQL is not reachable at ${POSTGRES_URL}. Start it, point SNAPLINK_TEST_POSTGRES_URL at one, or set SNAPLINK_TEST_STORES=sqlite.`);
  process.exit(1);
}

function run(label, testFiles, env) {
  console.log(`\n# ——— ${label} ———`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles], { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

let ok = true;
if (stores.includes('sqlite')) ok = run('every suite on SQLite', files('test'), { SNAPLINK_TEST_DATABASE_URL: '' }) && ok;
if (stores.includes('postgres')) {
  await ensurePostgres();
  ok = run('every suite on PostgreSQL, and the scale-out suites', [...files('test'), ...files('test/postgres')], { SNAPLINK_TEST_DATABASE_URL: POSTGRES_URL }) && ok;
}
// The benchmark's quick mode: figures printed, no thresholds (machines here are shared and noisy);
// it fails only if the benchmark itself breaks. SNAPLINK_TEST_BENCH=0 leaves it out.
if (process.env.SNAPLINK_TEST_BENCH !== '0') {
  console.log('\n# ——— npm run bench -- --quick ———');
  ok = spawnSync(process.execPath, ['bench/run.mjs', '--quick'], { stdio: 'inherit' }).status === 0 && ok;
}
console.log(ok ? '\n# all passed' : '\n# FAILURES above');
process.exit(ok ? 0 : 1);
