import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

interface Run {
  child: ChildProcess;
  output: () => string;
}

function startService(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) {
    return child.exitCode;
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function waitFor(run: Run, pattern: RegExp): Promise<void> {
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) {
      throw new Error(`process exited early:\n${run.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

describe('The service process', () => {
  describe('start-up failures', () => {
    it('names PostgreSQL, the URL without its password and how to start it, in one line', async () => {
      const run = startService({ DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/orders', ROLE: 'api' });

      expect(await exitOf(run.child)).toBe(1);
      const lines = run.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /PostgreSQL is unreachable at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/orders \(ECONNREFUSED\)\. Start it/,
      );
      expect(run.output()).not.toContain('secret');
    });

    it('names Redis when it is unreachable', async () => {
      const run = startService({ REDIS_URL: 'redis://127.0.0.1:1', ROLE: 'api' });

      expect(await exitOf(run.child)).toBe(1);
      expect(run.output().trim().split('\n')).toEqual([
        expect.stringMatching(/Redis is unreachable at redis:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/),
      ]);
    });

    it('names a port already in use in one line, and never claims to have started', async () => {
      // Before: a stack trace, then Nest's "successfully started", for a process that was already exiting.
      const holder = createServer();
      holder.listen(0, '127.0.0.1');
      await once(holder, 'listening');
      const { port } = holder.address() as { port: number };
      try {
        const run = startService({ ROLE: 'api', PORT: String(port), HOST: '127.0.0.1' });

        expect(await exitOf(run.child)).toBe(1);
        expect(run.output().trim().split('\n')).toEqual([
          `async-order-processor: port ${port} on 127.0.0.1 is already in use: stop what holds it or set PORT to a free port`,
        ]);
      } finally {
        holder.close();
      }
    });

    it('reports every invalid variable before touching anything', async () => {
      const run = startService({ PORT: 'eighty', ROLE: 'boss' });

      expect(await exitOf(run.child)).toBe(1);
      expect(run.output()).toMatch(/PORT="eighty" must be an integer/);
      expect(run.output()).toMatch(/ROLE="boss" must be one of/);
    });
  });

  describe.each(['api', 'worker', 'all'])('ROLE=%s', (role) => {
    it('starts, serves HTTP only when it should, and stops cleanly on SIGTERM', async () => {
      const port = await freePort();
      const run = startService({ ROLE: role, PORT: String(port), HOST: '127.0.0.1' });
      await waitFor(run, /"msg":"ready/);

      const probe = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect(probe).toBe(role === 'worker' ? 'refused' : 200);

      run.child.kill('SIGTERM');
      expect(await exitOf(run.child)).toBe(0);
      expect(run.output()).toMatch(/"msg":"stopped"/);
    });
  });

  it('a worker serves its metrics on WORKER_METRICS_PORT when asked to, and nothing else', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const run = startService({
      ROLE: 'worker',
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(metricsPort),
    });
    await waitFor(run, /"msg":"ready/);

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^aop_jobs_total|# TYPE aop_jobs_total counter/m);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/v1/health/ready`)).status).toBe(404);
    await expect(fetch(`http://127.0.0.1:${port}/api/v1/health/ready`)).rejects.toThrow();

    run.child.kill('SIGTERM');
    expect(await exitOf(run.child)).toBe(0);
  });

  it('stops on SIGINT as well', async () => {
    const port = await freePort();
    const run = startService({ ROLE: 'api', PORT: String(port), HOST: '127.0.0.1' });
    await waitFor(run, /"msg":"ready/);
    run.child.kill('SIGINT');
    expect(await exitOf(run.child)).toBe(0);
  });

  it('with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT) loads no OpenTelemetry SDK, only the API', async () => {
    // Everything the service is made of, as main.ts loads it after deciding about tracing.
    const script = `require('./src/bootstrap');
      const loaded = Object.keys(require.cache).map((k) => (k.match(/node_modules\\/(@opentelemetry\\/[^/]+|@fastify\\/otel)\\//) || [])[1]);
      console.log(JSON.stringify([...new Set(loaded.filter(Boolean))]));`;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await exitOf(child)).toBe(0);
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual(['@opentelemetry/api']);
  });
});
