import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * A PgBouncer of the test's own on a spare port, in transaction mode, fronting every database of one
 * PostgreSQL server (`* =` fallback). Debian's pgbouncer (1.18) refuses to run as root, so it runs as
 * `postgres` when the tests do. `retarget` rewrites its config and RELOADs it (a failover's re-point).
 */
export interface PgBouncer {
  port: number;
  /** `server` with PgBouncer's host and port instead of PostgreSQL's (same user, password, database). */
  urlFor(server: string): string;
  retarget(host: string, port: number): Promise<void>;
  stop(): Promise<void>;
}

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

function config(dir: string, port: number, host: string, targetPort: number): string {
  return `[databases]
* = host=${host} port=${targetPort}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${dir}/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
max_db_connections = 40
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
admin_users = postgres
`;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`pgbouncer exited with code ${child.exitCode}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`pgbouncer does not listen on ${port} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPgBouncer(options: {
  port: number;
  targetHost?: string;
  targetPort?: number;
  user?: string;
}): Promise<PgBouncer> {
  const { port } = options;
  const user = options.user ?? 'postgres';
  const dir = mkdtempSync(join(tmpdir(), 'aop-pgbouncer-'));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const write = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    if (asRoot) {
      const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim();
      chownSync(join(dir, name), Number(ids), Number(gid));
      chownSync(dir, Number(ids), Number(gid));
    }
  };
  write('userlist.txt', `"${user}" ""\n`);
  write('pgbouncer.ini', config(dir, port, options.targetHost ?? '127.0.0.1', options.targetPort ?? 5432));
  const args = [join(dir, 'pgbouncer.ini')];
  const child = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER_BIN, ...args], { stdio: 'ignore' })
    : spawn(PGBOUNCER_BIN, args, { stdio: 'ignore' });
  await waitForPort(port, child);

  const admin = async (command: string): Promise<void> => {
    const client = new Client({ host: '127.0.0.1', port, user, database: 'pgbouncer' });
    await client.connect();
    try {
      // The admin console speaks the simple query protocol only.
      await client.query(command);
    } finally {
      await client.end();
    }
  };

  return {
    port,
    urlFor(server: string): string {
      const url = new URL(server);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    async retarget(host: string, targetPort: number): Promise<void> {
      write('pgbouncer.ini', config(dir, port, host, targetPort));
      await admin('RELOAD');
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // Its own pid (under runuser the child is runuser); SIGTERM = immediate shutdown.
        const pid = Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8').trim());
        process.kill(pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
