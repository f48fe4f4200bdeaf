import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, errors } from '../atlas/errors.js';
import type { OAuthTokens } from '../identity/oauth.js';
import type { Db } from '../store/database.js';
import type { WriteHealth } from '../store/write-health.js';
import { isStoreFull, isStoreUnavailable } from '../store/errors.js';
import type { RequestJournal } from '../journal/request-journal.js';
import type { Metrics } from '../metrics.js';
import { oauthRoutes } from './routes/oauth.js';
import { looselyPretty } from './query.js';
import type { RateLimiter } from './rate-limit.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './limits.js';
import { errorAnswer, HSTS, SECURITY_HEADERS, sendError } from './reply.js';
import { logOutput, REQUEST_LOG_MESSAGE } from './log-output.js';
import { redactUrl } from '../redaction.js';
import { type EndpointRouteDeps, privateEndpointRoutes, RESOURCE_ROUTES } from './routes/private-endpoints.js';
import { systemRoutes } from './routes/system.js';
import { PROJECT_ROUTES, type ProjectRouteDeps, projectRoutes } from './routes/projects.js';
import { telemetryRoutes } from './routes/telemetry.js';
import './context.js';

// The HTTP face: Fastify with Atlas's conventions applied to every answer — ApiError bodies,
// security headers, request ids, RateLimit headers on the resource's paths, one log line a request.

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface HttpSettings {
  logLevel: string;
  trustProxy: boolean;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  connections?: ConnectionLimits;
}

export interface HttpDeps extends EndpointRouteDeps, ProjectRouteDeps {
  db: Db;
  /** Resolves once every write committed so far is on disk (store.durable()); null when nothing is waiting. */
  durable(): Promise<void> | null;
  tokens: OAuthTokens;
  limiter: RateLimiter;
  settings: HttpSettings;
  version: string;
  metrics: Metrics;
  /** Whether the store takes writes (readiness tells). */
  writes: WriteHealth;
  /** Whether the lifecycle runner is up (readiness). */
  isRunning(): boolean;
  journal: RequestJournal;
  /** This node's name, for the journal. */
  node: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const SYSTEM_PATHS = new Set(['/_snaplink/health', '/_snaplink/ready', '/_snaplink/metrics', '/_snaplink/openapi.json']);

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const limits = deps.settings.connections ?? DEFAULT_CONNECTION_LIMITS;
  // Node checks the header and request timeouts of open connections on an interval (30 s by
  // default): checked at a tenth of the shorter one, a trickling client is cut close to its limit.
  const nodeServer = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10))),
  };
  const app = Fastify({
    ...(deps.settings.tls ? { https: { ...nodeServer, ...deps.settings.tls } } : { http: nodeServer }),
    // Fastify sets these on the server it creates (its own defaults would override Node's).
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    // Standard output, buffered (http/log-output.ts); nowhere at all when silent (tests).
    logger: { level: deps.settings.logLevel, redact: ['req.headers.authorization'], ...(deps.settings.logLevel !== 'silent' && { stream: logOutput() }) },
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // A caller's own X-Request-Id is kept (for tracing across systems) when it is sane.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    trustProxy: deps.settings.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: (err, request, reply) => {
      // An undecodable or absurdly long path matches no route.
      const path = request.url.split('?')[0] ?? request.url;
      void err;
      sendError(reply, errors.resourcePathNotFound(path), false);
    },
    clientErrorHandler: writeClientError,
  });

  app.decorateRequest('atlas', null);
  app.decorateReply('journalNote', null);
  app.decorateReply('storeFailed', false);
  app.decorateReply('journalPayload', null);
  // Beyond this many open connections, new ones are closed on arrival: file descriptors and
  // memory stay bounded whatever clients hold open.
  app.server.maxConnections = limits.maxConnections;

  // Bodies are kept as raw bytes: their media type and JSON are checked by the handler, in the
  // order Atlas checks them, after authentication (Fastify's own parsers would answer first).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Hooks take callbacks rather than returning promises: they run on every request, and most
  // of them have nothing to wait for.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    if (request.protocol === 'https') reply.header(...HSTS);
    // Check 1 answers before anything is read from the body (an unknown route's body could
    // otherwise earn a 413 or 415 first), hence here rather than in the 404 handler.
    if (request.is404) routeMiss(request, reply);
    else done();
  });

  // While shutting down, answers close their connection: a kept-alive socket would otherwise
  // hold the process up to the keep-alive timeout after its last in-flight request.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    app.server.closeIdleConnections();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    // The answer's body, for the request journal (a reference: nothing is copied here).
    reply.journalPayload = payload;
    const ctx = request.atlas;
    if (ctx !== null && deps.limiter.settings.enabled) {
      const rate = ctx.rate ?? deps.limiter.peek(ctx.authorizedGroupId);
      reply.header('ratelimit-limit', String(rate.limit));
      reply.header('ratelimit-remaining', String(rate.remaining));
    }
    // No answer acknowledges or shows a write before it is on disk — whichever route or the
    // runner wrote it, and errors too: a 404 may show a delete. (A write resolves once committed,
    // so nothing shown can still be rolled back: what is left is the fsync.) If the disk
    // refuses, the error handler answers instead, and its answer waits on the disk no more.
    const durable = reply.storeFailed ? null : deps.durable();
    if (durable === null) done(null, payload);
    else
      durable.then(
        () => done(null, payload),
        (err) => {
          // An error answer came through the error handler already: the store's error replaces it here.
          if (reply.statusCode < 400) return done(err);
          const apiError = toApiError(err, request);
          reply.storeFailed = true;
          logStoreFailure(request, apiError, err);
          done(null, errorAnswer(reply, apiError, looselyPretty(request.query)));
        },
      );
  });

  app.addHook('onResponse', (request, reply, done) => {
    const operation = (request.routeOptions.config as { operation?: string } | undefined)?.operation ?? 'unrouted';
    deps.metrics.answered(operation, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        // A client may put a secret in a query string (a client_secret, an access_token).
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ip: request.ip,
        principal: request.atlas?.principal?.name,
      },
      REQUEST_LOG_MESSAGE,
    );
    if (deps.journal.enabled && request.url.startsWith('/api/')) journal(deps, request, reply, operation);
    done();
  });

  // Every route is labelled in the metrics by what it is: the resource's routes name their
  // operation; the rest are labelled by where they live.
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { operation?: string };
    if (config.operation === undefined) {
      const url = route.url;
      config.operation = url.startsWith('/api/oauth/') ? 'oauth' : SYSTEM_PATHS.has(url) ? 'system' : url.startsWith('/_snaplink/') ? 'control' : 'other';
      route.config = config as typeof route.config;
    }
  });

  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    const apiError = toApiError(err, request);
    // The store failed (or something unexpected did): this answer shows no state to wait for.
    if (apiError.status >= 500 && !(err instanceof ApiError)) reply.storeFailed = true;
    logStoreFailure(request, apiError, err);
    return sendError(reply, apiError, looselyPretty(request.query));
  });

  app.setNotFoundHandler(routeMiss);

  await app.register(systemRoutes, { db: deps.db, version: deps.version, metrics: deps.metrics, isRunning: deps.isRunning, writes: deps.writes });
  await app.register(oauthRoutes, { tokens: deps.tokens, guard: deps.authenticator.guard, version: deps.identities.version });
  await app.register(privateEndpointRoutes, deps);
  await app.register(projectRoutes, deps);
  await app.register(telemetryRoutes);
  return app;
}

/**
 * What the journal keeps of an Atlas API or OAuth request: references only — the headers Node
 * parsed, the body bytes, the answer's headers and payload. The journal's batch writer redacts,
 * caps and serialises them later (journal/capture.ts), off the request's path.
 */
function journal(deps: HttpDeps, request: FastifyRequest, reply: FastifyReply, operation: string): void {
  const note = reply.journalNote;
  deps.journal.record({
    at: Date.now() - Math.round(reply.elapsedTime),
    method: request.method,
    url: request.url,
    operation,
    groupId: request.atlas?.groupId ?? (request.params as { groupId?: string } | undefined)?.groupId ?? null,
    principal: request.atlas?.principal?.name ?? note?.principal ?? null,
    status: reply.statusCode,
    errorCode: note?.errorCode ?? null,
    errorDetail: note?.errorDetail ?? null,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
    requestId: request.id,
    node: deps.node,
    faultId: note?.faultId ?? null,
    pathId: (request.params as { endpointId?: string } | undefined)?.endpointId ?? null,
    requestHeaders: request.headers,
    requestBody: request.body,
    responseHeaders: reply.getHeaders(),
    responseBody: reply.journalPayload,
  });
}

function logStoreFailure(request: FastifyRequest, apiError: ApiError, err: unknown): void {
  const brief = { message: (err as Error).message, code: (err as { code?: string }).code };
  if (apiError.status === 503) request.log.warn({ err: brief }, 'store unavailable');
  else if (apiError.status === 507) request.log.error({ err: brief }, 'store full: write refused');
  else if (apiError.status >= 500) request.log.error({ err }, 'unexpected error');
}

/** No route matched: 405 when the path is an Atlas one snaplink serves and only the method is wrong, else 404. */
function routeMiss(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? request.url;
  const route = [...RESOURCE_ROUTES, ...PROJECT_ROUTES].find((r) => r.pattern.test(path));
  if (route) {
    request.atlas = {};
    return sendError(reply, errors.methodNotAllowed(request.method, path, route.allow), looselyPretty(request.query));
  }
  return sendError(reply, errors.resourcePathNotFound(path), looselyPretty(request.query));
}

function toApiError(err: FastifyError | ApiError, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  if (isStoreUnavailable(err)) return errors.serviceUnavailable();
  if (isStoreFull(err)) return errors.storeFull();
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.requestTooLarge(BODY_LIMIT_BYTES);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String(request.headers['content-type'] ?? '(none)'));
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badRequest('The Content-Length header does not match the body.');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return errors.badRequest('The request could not be read.');
  }
  return errors.unexpected();
}

/** Requests Node cannot even parse still get an ApiError body. */
function writeClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const apiError = tooLarge ? errors.headersTooLarge() : timedOut ? errors.requestTimeout() : errors.badRequest('Malformed HTTP request.');
  const body = JSON.stringify(apiError);
  socket.end(
    `HTTP/1.1 ${apiError.status} ${tooLarge ? 'Request Header Fields Too Large' : timedOut ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nX-Error-Code: ${apiError.errorCode}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
