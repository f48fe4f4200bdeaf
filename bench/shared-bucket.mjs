// What a per-project rate limit shared by every node would cost on PostgreSQL: each request
// would take its token with one UPDATE of the project's bucket row. Compared here with the one
// read per event-loop turn every request already makes (the store version), at the same
// concurrency, on one hot project and on many projects. Decides docs/postgres.md's "per node".
//
//   node bench/shared-bucket.mjs postgres://snaplink_test:snaplink_test@127.0.0.1:5432/snaplink_test
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const url = process.argv[2] ?? process.env.SNAPLINK_TEST_DATABASE_URL;
if (!url) throw new Error('usage: node bench/shared-bucket.mjs <postgres url>');
const name = `snaplink_bucket_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`create database ${name}`);
const dbUrl = new URL(url);
dbUrl.pathname = `/${name}`;
const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 10 });
pool.on('error', () => {}); // the connections dropped with the database at the end
const N = Number(process.env.N ?? 20_000);
const IN_FLIGHT = 64;
try {
  await pool.query('create table counters (key text primary key, value bigint not null)');
  await pool.query(`insert into counters values ('store_version', 1)`);
  await pool.query('create table buckets (key text primary key, tokens double precision not null, at bigint not null)');
  await pool.query(`insert into buckets select 'p' || g, 1200, 0 from generate_series(0, 999) g`);
  const take = {
    text: `update buckets set tokens = least(1200, tokens + ($2::bigint - at) * 500.0 / 60000) - 1, at = $2
           where key = $1 and least(1200, tokens + ($2::bigint - at) * 500.0 / 60000) >= 1 returning tokens`,
  };
  const run = async (label, query) => {
    const latencies = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < N) {
          const i = next++;
          const t = performance.now();
          await pool.query(query(i));
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q) => latencies[Math.floor(q * (latencies.length - 1))].toFixed(2);
    console.log(`| ${label} | ${Math.round(N / seconds).toLocaleString('en')} | ${p(0.5)} | ${p(0.99)} |`);
  };
  console.log(`| ${N.toLocaleString('en')} statements, ${IN_FLIGHT} in flight, pool of 10 | per s | p50 ms | p99 ms |\n|---|---:|---:|---:|`);
  await run('read the store version (what every request shares today)', () => ({ name: 'v', text: `select value from counters where key = 'store_version'` }));
  await run('take a token, one project (one hot row)', () => ({ ...take, name: 't', values: ['p0', Date.now()] }));
  await run('take a token, 1,000 projects', (i) => ({ ...take, name: 't', values: [`p${i % 1000}`, Date.now()] }));
} finally {
  await pool.end();
  await admin.query(`drop database ${name} with (force)`);
  await admin.end();
}
