// The benchmark's own tools — Stoplight Prism (the peer) and autocannon (the load generator) —
// are fetched from the npm registry into a cache on first use, never into snaplink's
// dependencies. SNAPLINK_BENCH_CACHE moves the cache (default ~/.cache/snaplink-bench).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Prism 5.14 is the last release that runs on Node.js 20.
export const TOOLS = { '@stoplight/prism-cli': '5.14.2', autocannon: '8.0.0' };

export const CACHE = process.env.SNAPLINK_BENCH_CACHE ?? join(homedir(), '.cache', 'snaplink-bench');

export function ensureTools() {
  const manifest = join(CACHE, 'package.json');
  const wanted = JSON.stringify({ name: 'snaplink-bench-tools', private: true, dependencies: TOOLS }, null, 2);
  const current = existsSync(manifest) ? readFileSync(manifest, 'utf8') : '';
  if (current !== wanted || !existsSync(join(CACHE, 'node_modules', 'autocannon')) || !existsSync(join(CACHE, 'node_modules', '.bin', 'prism'))) {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(manifest, wanted);
    console.error(`# fetching ${Object.entries(TOOLS).map(([n, v]) => `${n}@${v}`).join(', ')} into ${CACHE} (first use only)`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error'], { cwd: CACHE, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const require = createRequire(join(CACHE, 'package.json'));
  return { autocannon: require('autocannon'), prismBin: join(CACHE, 'node_modules', '.bin', 'prism') };
}
