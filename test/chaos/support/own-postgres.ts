import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of this test's own (initdb into a temp dir, its own port), so stopping it with
 * `pg_ctl -m immediate` — a crash, as far as clients can tell — leaves the shared server untouched.
 * PostgreSQL refuses to run as root; then every command runs as the `postgres` user.
 */
export class OwnPostgres {
  readonly dir: string;
  private readonly bin: string;
  private readonly asPostgres: boolean;

  constructor(readonly port: number) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    this.bin = join('/usr/lib/postgresql', versions[0], 'bin');
    this.asPostgres = userInfo().uid === 0;
    this.dir = mkdtempSync(join(tmpdir(), 'aop-chaos-pg-'));
    if (this.asPostgres) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(this.dir, uid, gid);
    }
  }

  /** The server URL for clients (database `postgres`). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  init(): void {
    this.run('initdb', [
      '-D',
      join(this.dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
  }

  start(): void {
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      'start',
    ]);
  }

  /** `pg_ctl -m immediate`: every backend dies at once, no checkpoint — recovery replays the WAL on start. */
  crash(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    if (existsSync(join(this.dir, 'data', 'postmaster.pid'))) {
      this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(command: string, args: string[]): void {
    const binary = join(this.bin, command);
    if (this.asPostgres) {
      execFileSync('runuser', ['-u', 'postgres', '--', binary, ...args], { stdio: 'pipe' });
    } else {
      execFileSync(binary, args, { stdio: 'pipe' });
    }
  }
}
