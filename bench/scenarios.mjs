// What the load generator sends. Each scenario is the same sequence of requests for every
// server compared; only the credentials differ (snaplink checks them, the others do not).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { digestResponse, ha1 } from '../dist/atlas/digest.js';
import { AWS_REGIONS } from '../dist/atlas/regions.js';
import { KEY, PROJECTS } from './world.mjs';

export const V = 'application/vnd.atlas.2024-11-13+json';
export const collection = (groupId) => `/api/atlas/v2/groups/${groupId}/backup/AWS/privateEndpoints`;
export const item = (groupId, id) => `${collection(groupId)}/${id}`;

/** Every (regionName, vpcRegionName) pair: 729 endpoints fit in one project. */
export const PAIRS = AWS_REGIONS.flatMap((regionName) => AWS_REGIONS.map((vpcRegionName) => ({ regionName, vpcRegionName })));

/**
 * A create and the delete of what it created, over and over; every create takes the next
 * free (project, region pair), so none conflicts with another still being deleted.
 */
function createDeleteRequests(headers, projects) {
  let next = 0;
  return [
    {
      method: 'POST',
      setupRequest(req, ctx) {
        const k = next++;
        ctx.project = projects[k % projects.length];
        const pair = PAIRS[Math.floor(k / projects.length) % PAIRS.length];
        return { ...req, path: collection(ctx.project), headers: { ...headers, 'content-type': V }, body: JSON.stringify({ cloudProvider: 'AWS', ...pair }) };
      },
      onResponse(status, body, ctx) {
        ctx.id = status === 201 ? JSON.parse(body).id : undefined;
      },
    },
    {
      method: 'DELETE',
      setupRequest(req, ctx) {
        if (!ctx.id) return false; // the create failed: start over
        return { ...req, path: item(ctx.project, ctx.id), headers };
      },
    },
  ];
}

/**
 * Digest as a good client does it: one nonce, reused with an increasing nonce-count, and when
 * the server calls it stale (its lifetime is over; a long bench outlives it) the new nonce from
 * that 401's challenge, from a count of 1 again.
 */
function digestRequests(path, firstNonce) {
  let nonce = firstNonce;
  let nc = 0;
  const key = ha1('MD5', KEY.publicKey, KEY.privateKey);
  return [
    {
      method: 'GET',
      path,
      setupRequest(req) {
        const count = (++nc).toString(16).padStart(8, '0');
        const cnonce = randomBytes(8).toString('hex');
        const response = digestResponse({ algorithm: 'MD5', ha1: key, method: 'GET', uri: path, nonce, nc: count, cnonce, qop: 'auth' });
        const authorization = `Digest username="${KEY.publicKey}", realm="MMS Public API", nonce="${nonce}", uri="${path}", algorithm=MD5, qop=auth, nc=${count}, cnonce="${cnonce}", response="${response}"`;
        return { ...req, headers: { accept: V, authorization } };
      },
      onResponse(status, _body, _ctx, headers) {
        if (status !== 401) return;
        const challenge = Object.entries(headers ?? {})
          .filter(([name]) => name.toLowerCase() === 'www-authenticate')
          .flatMap(([, v]) => v)
          .find((c) => /stale=true/i.test(c));
        const fresh = challenge && /nonce="([^"]+)"/.exec(challenge)?.[1];
        if (fresh && fresh !== nonce) {
          nonce = fresh;
          nc = 0;
        }
      },
    },
  ];
}

/** The scenarios, given what a target needs: its credentials and the ids it serves. */
export function scenarios({ bearer, nonce, getOne, listProject, projects = PROJECTS }) {
  const headers = { accept: V, authorization: `Bearer ${bearer}` };
  return [
    { name: 'GET one (Bearer)', requests: [{ method: 'GET', path: item(getOne.project, getOne.id), headers }] },
    { name: 'list, page of 100 (Bearer)', requests: [{ method: 'GET', path: `${collection(listProject)}?itemsPerPage=100`, headers }] },
    { name: 'create + delete pairs (Bearer)', requests: createDeleteRequests(headers, projects), writes: true },
    { name: 'GET one (Digest, nonce reused)', requests: digestRequests(item(getOne.project, getOne.id), nonce) },
    { name: 'GET one, 1 connection (sequential)', requests: [{ method: 'GET', path: item(getOne.project, getOne.id), headers }], sequential: true },
  ];
}

/**
 * Runs one scenario against one server; returns requests/s, latency percentiles, status codes
 * and — given the server's `cpu()` (seconds used, from /proc) — its CPU time per answer in µs:
 * what the server itself spends, whatever the load generator beside it takes.
 */
export async function measure(autocannon, url, scenario, { connections, duration, cpu }) {
  const cpuBefore = cpu?.();
  const result = await autocannon({ url, connections, duration, requests: scenario.requests });
  const cpuUsed = cpu ? cpu() - cpuBefore : NaN;
  const codes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]));
  const answered = Object.values(codes).reduce((a, b) => a + b, 0);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: Math.round((cpuUsed / answered) * 1e7) / 10,
    errors: result.errors + result.timeouts,
    codes,
  };
}

/**
 * One connection, one request at a time: what a single CI client sees. autocannon's latency
 * histogram counts whole milliseconds, and these answers take a fraction of one, so this client
 * is a socket of its own that writes each request once the previous answer is complete and times
 * it with the high-resolution clock. Only fixed requests (method, path, headers; no body).
 */
export async function sequential(url, scenario, { duration, cpu }) {
  const [{ method, path, headers = {} }] = scenario.requests;
  const { hostname, port } = new URL(url);
  const head = Buffer.from(`${method} ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  const socket = connect({ host: hostname, port: Number(port), noDelay: true });
  await once(socket, 'connect');
  const times = [];
  const codes = {};
  let buffered = Buffer.alloc(0);
  let resolveAnswer;
  socket.on('data', (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const header = buffered.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(header)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.subarray(end + 4 + length);
    resolveAnswer(header.slice(9, 12));
  });
  const ask = () =>
    new Promise((resolve) => {
      resolveAnswer = resolve;
      socket.write(head);
    });
  const cpuBefore = cpu?.();
  const started = performance.now();
  const until = started + duration * 1000;
  for (let t = started; t < until; ) {
    const code = await ask();
    const now = performance.now();
    times.push(now - t);
    codes[code] = (codes[code] ?? 0) + 1;
    t = now;
  }
  const elapsed = performance.now() - started;
  const cpuUsed = cpu ? cpu() - cpuBefore : NaN;
  socket.destroy();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return {
    rps: Math.round((times.length / elapsed) * 1000),
    p50: at(0.5),
    p99: at(0.99),
    cpuUs: Math.round((cpuUsed / times.length) * 1e7) / 10,
    errors: 0,
    codes,
  };
}
