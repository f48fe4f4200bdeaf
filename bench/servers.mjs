// Starting the three servers a benchmark compares, each in a process of its own, and reading
// their start-up time and memory.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { collection, PAIRS, V } from './scenarios.mjs';
import { PROJECTS, SA } from './world.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

// Servers still running when the bench ends — it failed half-way — go with it, instead of
// loading the machine for the next run.
const running = new Set();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});
const started = (proc) => {
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  return proc;
};

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url, proc, what, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ: the unit of /proc/<pid>/stat's times on Linux

/** The CPU time (user + system, in seconds) a process and its descendants have used so far, from /proc. */
export function cpuSeconds(pid) {
  let ticks = 0;
  const visit = (p) => {
    try {
      // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ').at(-1).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(child);
      }
    } catch {
      // gone meanwhile
    }
  };
  visit(pid);
  return ticks / TICKS_PER_SECOND;
}

function handle(proc, url, startedAt) {
  return {
    url,
    proc,
    startupMs: Math.round(performance.now() - startedAt),
    /** CPU seconds the server (with any processes it started) has used. */
    cpu: () => cpuSeconds(proc.pid),
    /** Resident memory in MB, from /proc. */
    rssMb() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Math.round(Number(m[1]) / 1024) : NaN;
    },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.on('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}

export async function startLimit() {
  const port = await freePort();
  const t0 = performance.now();
  const proc = started(spawn(process.execPath, [here('./limit-server.mjs'), String(port)], { stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, proc, 'the limit server');
  return handle(proc, url, t0);
}

export async function startPrism(prismBin, specFile) {
  const port = await freePort();
  const t0 = performance.now();
  // Prism as a user runs it: `prism mock <spec>`, its request log included (sent to /dev/null).
  const proc = started(spawn(prismBin, ['mock', specFile, '-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/api/atlas/v2/groups/6650f0c0a1b2c3d4e5f60101/backup/AWS/privateEndpoints`, proc, 'Prism');
  return handle(proc, url, t0);
}

/**
 * snaplink as a user runs it (`snaplink serve`, logs at info, sent to /dev/null) — this checkout's,
 * or the one built in `root` (another commit's, for an A/B comparison).
 */
export async function startSnaplink(args, extraArgs = [], root = here('..')) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = started(spawn(process.execPath, [`${root}/bin/snaplink.js`, 'serve', '--port', String(port), ...args, ...extraArgs], { stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/_snaplink/health`, proc, 'snaplink');
  return handle(proc, url, t0);
}

/** Readies a seeded snaplink for the scenarios: a bearer token, 100 endpoints in the first project (the list; the first is GET one), a Digest nonce. */
export async function prepareSnaplink(url) {
  const token = (
    await (
      await fetch(`${url}/api/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${SA.clientId}:${SA.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      })
    ).json()
  ).access_token;
  const headers = { accept: V, authorization: `Bearer ${token}`, 'content-type': V };
  // A project of 100 endpoints for the list; its first one for GET one.
  const ids = [];
  for (const pair of PAIRS.slice(0, 100)) {
    const res = await fetch(url + collection(PROJECTS[0]), { method: 'POST', headers, body: JSON.stringify({ cloudProvider: 'AWS', ...pair }) });
    ids.push((await res.json()).id);
  }
  const challenge = await fetch(url + collection(PROJECTS[0]), { headers: { accept: V } });
  const nonce = /nonce="([^"]+)"/.exec(challenge.headers.get('www-authenticate'))[1];
  return { bearer: token, nonce, getOne: { project: PROJECTS[0], id: ids[0] }, listProject: PROJECTS[0], projects: PROJECTS.slice(1) };
}
