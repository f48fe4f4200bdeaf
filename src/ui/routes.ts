import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

// The dashboard at /_snaplink/ui: static files served by snaplink itself (no second server, no
// CDN, nothing fetched at run time). The page asks for the admin token and sends it on every
// control API call in a header — never a cookie, so there is nothing for another site to ride
// on (no CSRF). The assets need no token: they hold no data.

/** The package's root, from src/ui/ (tests) and dist/ui/ (the command) alike. */
const ROOT = new URL('../../', import.meta.url);
const ASSETS = new URL('dist/ui/assets/', ROOT);

/** Only this origin's own script, styles and API; no inline code, no frames, no forms posted anywhere. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Where the page is: the address a person opens. */
export const DASHBOARD_PATH = '/_snaplink/ui/';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  // Read once: they are built with the package (npm run build) and never change while it runs.
  const files = Object.fromEntries(
    Object.keys(FILES).map((name) => {
      try {
        return [name, readFileSync(new URL(name, ASSETS))];
      } catch {
        throw new Error(`the dashboard's ${name} is missing from ${ASSETS.pathname}: run \`npm run build\``);
      }
    }),
  ) as Record<keyof typeof FILES, Buffer>;

  const serve = (name: keyof typeof FILES) => ({
    config: { operation: 'ui' },
    handler: async (_request: unknown, reply: import('fastify').FastifyReply) =>
      reply.type(FILES[name]).header('content-security-policy', CONTENT_SECURITY_POLICY).header('cache-control', 'no-cache').send(files[name]),
  });
  app.get('/_snaplink/ui', { config: { operation: 'ui' } }, async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  // The server's root is where a person opening its address in a browser lands: the dashboard.
  app.get('/', { config: { operation: 'ui' } }, async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  app.get(DASHBOARD_PATH, serve('index.html'));
  app.get('/_snaplink/ui/app.js', serve('app.js'));
  app.get('/_snaplink/ui/style.css', serve('style.css'));
  app.get('/_snaplink/ui/favicon.svg', serve('favicon.svg'));
}
