import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { type DigestAlgorithm, digestResponse, ha1, parseAuthParams, quote, splitScheme } from '../atlas/digest.js';
import { ATLAS_MEDIA_TYPE, PROJECTS_MEDIA_TYPE } from '../atlas/media-types.js';

// A small typed client for the resource, speaking HTTP Digest the way a good client does: it
// answers the first challenge, then reuses the nonce with an increasing nonce-count, and takes
// a fresh nonce when the server says the old one is stale.

/** An API key (HTTP Digest), a service account (OAuth 2.0 client credentials), or a bearer token. */
export type AtlasCredentials =
  | { publicKey: string; privateKey: string }
  | { clientId: string; clientSecret: string }
  | { accessToken: string };

export type AtlasClientOptions = AtlasCredentials & {
  baseUrl: string;
  /** Extra headers on every request; a header set to undefined is not sent at all. */
  headers?: Record<string, string | undefined>;
  /** CA certificates to trust for https (PEM), beside the system's. */
  ca?: string | Buffer;
};

export interface AtlasResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when there is none. */
  body: T;
  text: string;
}

export interface PrivateEndpoint {
  id: string;
  cloudProvider: 'AWS';
  regionName: string;
  vpcRegionName: string;
  status: string;
  privateEndpointConnectionName?: string;
  errorMessage?: string;
}

export interface PrivateEndpointPage {
  results: PrivateEndpoint[];
  totalCount?: number;
  links: { href: string; rel: string }[];
}

export interface Project {
  id: string;
  name: string;
  orgId: string;
  /** When it was made, ISO 8601 in whole seconds. */
  created: string;
  clusterCount: number;
  tags: { key: string; value: string }[];
  withDefaultAlertsSettings: boolean;
  links: { href: string; rel: string }[];
}

export interface Organization {
  id: string;
  name: string;
  isDeleted: boolean;
  skipDefaultAlertsSettings: boolean;
  links: { href: string; rel: string }[];
}

/** A page of a list, as Atlas pages every list. */
export interface Page<T> {
  results: T[];
  totalCount?: number;
  links: { href: string; rel: string }[];
}

export interface PageQuery {
  pageNum?: number;
  itemsPerPage?: number;
  includeCount?: boolean;
}

export interface ApiErrorBody {
  error: number;
  errorCode: string;
  detail: string;
  reason: string;
  /** Absent from a failed authentication's 401 (errorCode UNEXPECTED_ERROR), as on Atlas. */
  parameters?: unknown[];
  badRequestDetail?: { fields: { field: string; description: string }[] };
}

export class AtlasApiError extends Error {
  constructor(readonly response: AtlasResponse<ApiErrorBody>) {
    super(`${response.status} ${response.body?.errorCode ?? ''}: ${response.body?.detail ?? response.text}`);
    this.name = 'AtlasApiError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON value to send, or a raw string/Buffer sent as is. */
  body?: unknown;
  headers?: Record<string, string | undefined>;
}

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

interface Challenge {
  nonce: string;
  realm: string;
  algorithm: DigestAlgorithm;
  nc: number;
}

export class AtlasClient {
  private challenge: Challenge | undefined;
  private token: { value: string; renewAt: number } | undefined;

  constructor(private readonly options: AtlasClientOptions) {}

  /** Any request to the server, with Digest handled; never throws on an HTTP status. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<AtlasResponse<T>> {
    // A path is appended to the base URL, never resolved against it ("//x" is not a host).
    const url = new URL(path.startsWith('/') ? this.options.baseUrl.replace(/\/+$/, '') + path : path, this.options.baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const target = url.pathname + url.search;
    const merged: Record<string, string | undefined> = { accept: ATLAS_MEDIA_TYPE, ...this.options.headers, ...opts.headers };
    let body: string | Buffer | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
      if (!('content-type' in merged)) merged['content-type'] = ATLAS_MEDIA_TYPE;
      // Framed explicitly: Node sends bodies of GET/DELETE/OPTIONS unframed otherwise.
      merged['content-length'] = String(Buffer.byteLength(body));
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(merged)) if (v !== undefined) headers[k] = v;

    for (let attempt = 0; ; attempt++) {
      const auth = await this.authorizationFor(method, target);
      const res = await this.send(url, method, auth ? { ...headers, authorization: auth } : headers, body);
      if (res.status === 401 && attempt === 0) {
        if ('clientId' in this.options) {
          // The token may have been revoked or expired early: take a new one, once.
          this.token = undefined;
          continue;
        }
        const fresh = 'publicKey' in this.options ? this.readChallenge(res.headers['www-authenticate']) : undefined;
        // Retry once with a new nonce: first contact, or the old nonce went stale.
        if (fresh && (auth === undefined || fresh.stale)) {
          this.challenge = fresh.challenge;
          continue;
        }
      }
      let parsed: unknown;
      if (res.text !== '') {
        try {
          parsed = JSON.parse(res.text);
        } catch {
          parsed = undefined;
        }
      }
      return { status: res.status, headers: res.headers, body: parsed as T, text: res.text };
    }
  }

  private send(url: URL, method: string, headers: Record<string, string>, body: string | Buffer | undefined) {
    const secure = url.protocol === 'https:';
    return new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        { method, headers, agent: secure ? httpsAgent : httpAgent, ...(secure && this.options.ca ? { ca: this.options.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private async authorizationFor(method: string, uri: string): Promise<string | undefined> {
    const o = this.options;
    if ('accessToken' in o) return `Bearer ${o.accessToken}`;
    if ('clientId' in o) return `Bearer ${await this.accessToken()}`;
    return this.challenge ? this.digestAuthorization(o, method, uri) : undefined;
  }

  /**
   * A service account's access token, from POST /api/oauth/token (HTTP Basic, as Atlas's
   * documentation shows), kept until a minute before it expires.
   */
  async accessToken(): Promise<string> {
    const o = this.options;
    if ('accessToken' in o) return o.accessToken;
    if (!('clientId' in o)) throw new Error('an API key client has no access token');
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const res = await this.send(new URL('/api/oauth/token', o.baseUrl), 'POST', this.oauthHeaders(o), 'grant_type=client_credentials');
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
    const { access_token: value, expires_in: expiresIn } = JSON.parse(res.text) as { access_token: string; expires_in: number };
    this.token = { value, renewAt: Date.now() + Math.max(0, expiresIn - 60) * 1000 };
    return value;
  }

  /** Revokes the current access token (RFC 7009). */
  async revokeToken(): Promise<void> {
    const o = this.options;
    if (!('clientId' in o) || !this.token) return;
    const res = await this.send(new URL('/api/oauth/revoke', o.baseUrl), 'POST', this.oauthHeaders(o), `token=${encodeURIComponent(this.token.value)}`);
    if (res.status !== 200) throw new Error(`token revocation failed: ${res.status} ${res.text}`);
    this.token = undefined;
  }

  private oauthHeaders(o: { clientId: string; clientSecret: string }): Record<string, string> {
    return {
      authorization: `Basic ${Buffer.from(`${o.clientId}:${o.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
  }

  private digestAuthorization(o: { publicKey: string; privateKey: string }, method: string, uri: string): string {
    const c = this.challenge!;
    c.nc += 1;
    const nc = c.nc.toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const response = digestResponse({
      algorithm: c.algorithm,
      ha1: ha1(c.algorithm, o.publicKey, o.privateKey, c.realm),
      method,
      uri,
      nonce: c.nonce,
      nc,
      cnonce,
      qop: 'auth',
    });
    return (
      `Digest username=${quote(o.publicKey)}, realm=${quote(c.realm)}, nonce=${quote(c.nonce)}, uri=${quote(uri)}, ` +
      `algorithm=${c.algorithm}, qop=auth, nc=${nc}, cnonce=${quote(cnonce)}, response=${quote(response)}`
    );
  }

  /** Picks the strongest Digest challenge offered. */
  private readChallenge(header: string | string[] | undefined): { challenge: Challenge; stale: boolean } | undefined {
    if (!header) return undefined;
    let best: { challenge: Challenge; stale: boolean } | undefined;
    for (const part of [header].flat().flatMap((h) => h.split(/,\s*(?=Digest\s)/i))) {
      const { scheme, rest } = splitScheme(part);
      const p = scheme === 'digest' ? parseAuthParams(rest) : null;
      const nonce = p?.get('nonce');
      const algorithm = (p?.get('algorithm') ?? 'MD5').toUpperCase();
      if (!p || !nonce || (algorithm !== 'MD5' && algorithm !== 'SHA-256')) continue;
      const candidate = {
        challenge: { nonce, realm: p.get('realm') ?? '', algorithm: algorithm as DigestAlgorithm, nc: 0 },
        stale: p.get('stale')?.toLowerCase() === 'true',
      };
      if (!best || algorithm === 'SHA-256') best = candidate;
    }
    return best;
  }

  private async expect<T>(status: number | readonly number[], res: AtlasResponse<unknown>): Promise<T> {
    if (!(typeof status === 'number' ? [status] : status).includes(res.status)) throw new AtlasApiError(res as AtlasResponse<ApiErrorBody>);
    return res.body as T;
  }

  /** A projects or organizations operation: they speak their own version (2023-01-01). */
  private projects(method: string, path: string, opts: RequestOptions = {}): Promise<AtlasResponse<unknown>> {
    const headers = { accept: PROJECTS_MEDIA_TYPE, ...(opts.body !== undefined && { 'content-type': PROJECTS_MEDIA_TYPE }), ...opts.headers };
    return this.request(method, path, { ...opts, headers });
  }

  private static path(groupId: string, endpointId?: string): string {
    const base = `/api/atlas/v2/groups/${encodeURIComponent(groupId)}/backup/AWS/privateEndpoints`;
    return endpointId === undefined ? base : `${base}/${encodeURIComponent(endpointId)}`;
  }

  async listPrivateEndpoints(
    groupId: string,
    page: { pageNum?: number; itemsPerPage?: number; includeCount?: boolean } = {},
  ): Promise<PrivateEndpointPage> {
    return this.expect(200, await this.request('GET', AtlasClient.path(groupId), { query: page }));
  }

  async createPrivateEndpoint(groupId: string, body: { regionName: string; vpcRegionName?: string }): Promise<PrivateEndpoint> {
    return this.expect(201, await this.request('POST', AtlasClient.path(groupId), { body: { cloudProvider: 'AWS', ...body } }));
  }

  async getPrivateEndpoint(groupId: string, endpointId: string): Promise<PrivateEndpoint> {
    return this.expect(200, await this.request('GET', AtlasClient.path(groupId, endpointId)));
  }

  async deletePrivateEndpoint(groupId: string, endpointId: string): Promise<void> {
    await this.expect(204, await this.request('DELETE', AtlasClient.path(groupId, endpointId)));
  }

  // Projects and organizations (Atlas's own operations, what a pipeline does first and last).
  // Atlas answers a create with 201 and a delete with 202 {} where its OpenAPI document says
  // 200 and 204: either is taken.

  /** The projects the credential reaches. */
  async listProjects(page: PageQuery = {}): Promise<Page<Project>> {
    return this.expect(200, await this.projects('GET', '/api/atlas/v2/groups', { query: { ...page } }));
  }

  /** Makes a project in `orgId`; the credential that makes it reaches it. */
  async createProject(body: { name: string; orgId: string; tags?: { key: string; value: string }[]; withDefaultAlertsSettings?: boolean }): Promise<Project> {
    return this.expect([200, 201], await this.projects('POST', '/api/atlas/v2/groups', { body }));
  }

  async getProject(groupId: string): Promise<Project> {
    return this.expect(200, await this.projects('GET', `/api/atlas/v2/groups/${encodeURIComponent(groupId)}`));
  }

  async getProjectByName(name: string): Promise<Project> {
    return this.expect(200, await this.projects('GET', `/api/atlas/v2/groups/byName/${encodeURIComponent(name)}`));
  }

  /** Renames it, or replaces its tags (the fields not given are left as they are). */
  async updateProject(groupId: string, changes: { name?: string; tags?: { key: string; value: string }[] }): Promise<Project> {
    return this.expect(200, await this.projects('PATCH', `/api/atlas/v2/groups/${encodeURIComponent(groupId)}`, { body: changes }));
  }

  /** Refused (409) while the project has backup private endpoints in any status. */
  async deleteProject(groupId: string): Promise<void> {
    await this.expect([202, 204], await this.projects('DELETE', `/api/atlas/v2/groups/${encodeURIComponent(groupId)}`));
  }

  async listOrganizations(page: PageQuery & { name?: string } = {}): Promise<Page<Organization>> {
    return this.expect(200, await this.projects('GET', '/api/atlas/v2/orgs', { query: { ...page } }));
  }

  async getOrganization(orgId: string): Promise<Organization> {
    return this.expect(200, await this.projects('GET', `/api/atlas/v2/orgs/${encodeURIComponent(orgId)}`));
  }

  async listOrganizationProjects(orgId: string, page: PageQuery & { name?: string } = {}): Promise<Page<Project>> {
    return this.expect(200, await this.projects('GET', `/api/atlas/v2/orgs/${encodeURIComponent(orgId)}/groups`, { query: { ...page } }));
  }
}
