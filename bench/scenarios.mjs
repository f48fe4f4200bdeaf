// What the load generator sends. Each scenario is the same sequence of requests for every
// server compared; only the credentials differ (snaplink checks them, the others do not).
import { randomBytes } from 'node:crypto';
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

/** Digest as a good client does it: one nonce, reused with an increasing nonce-count. */
function digestRequests(path, nonce) {
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
  ];
}

/** Runs one scenario against one server; returns requests/s, latency percentiles and status codes. */
export async function measure(autocannon, url, scenario, { connections, duration }) {
  const result = await autocannon({ url, connections, duration, requests: scenario.requests });
  const codes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]));
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    codes,
  };
}
