import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer, request, type Server, type ServerResponse } from 'node:http';
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

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * An HTTP proxy in front of moto that counts EC2 actions and can make the network misbehave:
 * throttle a call before EC2 sees it, or lose EC2's answer after EC2 acted. It also keeps EC2's
 * documented ClientToken contract, which moto does not: a repeated token gets the first answer
 * again and nothing new is made — so a client that sends no token makes a second endpoint here,
 * as it would on AWS.
 */
export class ThrottlingProxy {
  private server: Server | undefined;
  url = '';
  readonly calls = new Map<string, number>();
  /** Calls of each action that reached EC2 (moto): a repeated ClientToken does not. */
  readonly forwarded = new Map<string, number>();
  /** How many more calls of each action to answer with RequestLimitExceeded. */
  readonly throttle = new Map<string, number>();
  /**
   * How many more answers of each action to lose after EC2 acted: `drop` cuts the connection
   * (the SDK retries the call, with its ClientToken), `fail` answers a 501 the SDK does not
   * retry (the step ends, and snaplink's runner resumes it later).
   */
  readonly lose = new Map<string, { how: 'drop' | 'fail'; count: number }>();
  private readonly byClientToken = new Map<string, Answer>();

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const params = new URLSearchParams(body.toString('utf8'));
        const action = params.get('Action') ?? '?';
        this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
        const left = this.throttle.get(action) ?? 0;
        if (left > 0) {
          this.throttle.set(action, left - 1);
          res.writeHead(503, { 'content-type': 'text/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>');
          return;
        }
        const token = params.get('ClientToken');
        const tokenKey = token && `${action} ${token}`;
        const known = tokenKey ? this.byClientToken.get(tokenKey) : undefined;
        if (known) return this.answer(res, action, known);
        this.forwarded.set(action, (this.forwarded.get(action) ?? 0) + 1);
        const upstream = request(this.target + (req.url ?? '/'), { method: req.method, headers: req.headers }, (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const answer = { status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(parts) };
            if (tokenKey && answer.status < 300) this.byClientToken.set(tokenKey, answer);
            this.answer(res, action, answer);
          });
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  private answer(res: ServerResponse, action: string, a: Answer): void {
    const lose = this.lose.get(action);
    if (lose && lose.count > 0) {
      lose.count--;
      if (lose.how === 'drop') {
        res.socket?.destroy();
        return;
      }
      res.writeHead(501, { 'content-type': 'text/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>NotImplemented</Code><Message>The answer was lost.</Message></Error></Errors><RequestID>lost</RequestID></Response>');
      return;
    }
    res.writeHead(a.status, a.headers);
    res.end(a.body);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
