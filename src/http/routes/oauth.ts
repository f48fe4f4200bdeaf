import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mediaTypeOf } from '../../atlas/media-types.js';
import type { AuthFailureGuard } from '../../identity/brute-force.js';
import type { OAuthTokens } from '../../identity/oauth.js';
import type { ServiceAccountRow } from '../../identity/repository.js';
import { isStoreFull, isStoreUnavailable } from '../../store/errors.js';
import type { StoreVersion } from '../../store/version.js';

// The OAuth 2.0 endpoints of service accounts, as Atlas serves them: POST /api/oauth/token
// (client credentials grant, RFC 6749 §4.4) and POST /api/oauth/revoke (RFC 7009). Errors are
// RFC 6749 §5.2 bodies, not ApiErrors. A token can be minted from any address: access lists
// apply when it is used.

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

const REALM = 'Basic realm="MMS Public API"';

function sendJson(reply: FastifyReply, status: number, body: { error?: string; error_description?: string } | object): FastifyReply {
  if ('error' in body) reply.journalNote = { ...reply.journalNote, errorCode: body.error, errorDetail: body.error_description };
  return reply.code(status).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).type('application/json;charset=utf-8').send(JSON.stringify(body));
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** The form body; only application/x-www-form-urlencoded is accepted (RFC 6749 §3.2). */
function form(request: FastifyRequest): URLSearchParams {
  const type = request.headers['content-type'];
  if (type === undefined || mediaTypeOf(type) !== 'application/x-www-form-urlencoded') {
    throw new OAuthError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  }
  const params = new URLSearchParams(((request.body as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8'));
  for (const key of new Set(params.keys())) {
    if (params.getAll(key).length > 1) throw new OAuthError(400, 'invalid_request', `Parameter ${key} is repeated.`);
  }
  return params;
}

/** Client id and secret from HTTP Basic (as Atlas documents) or, failing that, from the form. */
function clientCredentials(request: FastifyRequest, params: URLSearchParams): { id: string; secret: string } {
  const header = request.headers.authorization;
  const inForm = params.has('client_id') || params.has('client_secret');
  if (header !== undefined) {
    if (inForm) throw new OAuthError(400, 'invalid_request', 'Use one client authentication method, not two.');
    const [scheme, encoded] = header.trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'basic' || !encoded) throw new OAuthError(401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': REALM });
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError(401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': REALM });
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  }
  const id = params.get('client_id');
  const secret = params.get('client_secret');
  if (id === null || secret === null) throw new OAuthError(401, 'invalid_client', 'Client authentication is required (HTTP Basic).', { 'www-authenticate': REALM });
  return { id, secret };
}

export async function oauthRoutes(app: FastifyInstance, deps: { tokens: OAuthTokens; guard: AuthFailureGuard; version: StoreVersion }): Promise<void> {
  const { tokens, guard, version } = deps;

  async function authenticatedClient(request: FastifyRequest, reply: FastifyReply, params: URLSearchParams): Promise<ServiceAccountRow> {
    // What this node remembers (lockouts among it) is checked against the store once.
    const fresh = await version.refresh();
    const locked = await guard.lockedFor(request.ip, fresh);
    if (locked > 0) {
      throw new OAuthError(429, 'temporarily_unavailable', `Too many failed authentications from this address; retry in ${locked} seconds.`, {
        'retry-after': String(locked),
      });
    }
    const { id, secret } = clientCredentials(request, params);
    reply.journalNote = { ...reply.journalNote, principal: id };
    const account = await tokens.authenticateClient(id, secret);
    if (!account) {
      await guard.fail(request.ip);
      throw new OAuthError(401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': REALM });
    }
    return account;
  }

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof OAuthError) return sendJson(reply.headers(err.headers), err.status, { error: err.error, error_description: err.description });
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendJson(reply, 413, { error: 'invalid_request', error_description: 'The request body is too large.' });
    if (isStoreFull(err)) return sendJson(reply, 507, { error: 'temporarily_unavailable', error_description: 'The store has no room for this change; nothing was changed.' });
    if (isStoreUnavailable(err)) return sendJson(reply.header('retry-after', '1'), 503, { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; retry shortly.' });
    reply.log.error({ err }, 'unexpected error on the token endpoint');
    return sendJson(reply, 500, { error: 'server_error', error_description: 'Unexpected error.' });
  });

  app.post('/api/oauth/token', { config: { operation: 'oauth' } }, async (request, reply) => {
    const params = form(request);
    const account = await authenticatedClient(request, reply, params);
    const grant = params.get('grant_type');
    if (grant === null) throw new OAuthError(400, 'invalid_request', 'The grant_type parameter is required.');
    if (grant !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', `Grant type ${grant} is not supported; use client_credentials.`);
    const { accessToken, expiresIn } = await tokens.issue(account);
    return sendJson(reply, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn });
  });

  app.post('/api/oauth/revoke', { config: { operation: 'oauth' } }, async (request, reply) => {
    const params = form(request);
    const account = await authenticatedClient(request, reply, params);
    const token = params.get('token');
    if (token === null || token === '') throw new OAuthError(400, 'invalid_request', 'The token parameter is required.');
    await tokens.revoke(account, token);
    return reply.code(200).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send();
  });
}
