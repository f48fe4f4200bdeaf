import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer } from 'node:net';
import { python } from './tools.js';

// A local EC2 API: moto's server (from the pinned Python environment, test/setup/python.sh), started and
// stopped by the suite, optionally behind a proxy that answers some calls with throttling.

export const AWS_TEST_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Moto {
  url: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const proc: ChildProcess = spawn(python(), ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/moto-api/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 150 || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`moto did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.on('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** An HTTP proxy in front of moto that counts EC2 actions and can throttle some of them. */
export class ThrottlingProxy {
  private server: Server | undefined;
  url = '';
  readonly calls = new Map<string, number>();
  /** How many more calls of each action to answer with RequestLimitExceeded. */
  readonly throttle = new Map<string, number>();

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '?';
        this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
        const left = this.throttle.get(action) ?? 0;
        if (left > 0) {
          this.throttle.set(action, left - 1);
          res.writeHead(503, { 'content-type': 'text/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>');
          return;
        }
        const upstream = request(this.target + (req.url ?? '/'), { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
