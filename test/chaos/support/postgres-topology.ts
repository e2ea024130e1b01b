import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ChaosEnv } from './chaos-env';

/**
 * scripts/topology/postgres.sh on ports of the chaos suite's own (3490–3499): a primary, a synchronous
 * streaming standby and PgBouncer 1.18 in transaction mode in front of the primary, in a directory of
 * this run's own. `envFor` gives a scenario's world wired as users run it behind a pooler.
 */
export class PostgresTopology {
  private readonly dir = `/tmp/aop-chaos-topology-${randomBytes(3).toString('hex')}`;

  constructor(readonly ports = { primary: 3490, standby: 3491, bouncer: 3492 }) {}

  /** up | down | promote | pause-replay | resume-replay | stop-standby | start-standby */
  run(command: string): void {
    execFileSync('bash', [join(__dirname, '../../../scripts/topology/postgres.sh'), command], {
      env: {
        ...process.env,
        TOPOLOGY_DIR: this.dir,
        PG_PRIMARY_PORT: String(this.ports.primary),
        PG_STANDBY_PORT: String(this.ports.standby),
        PGBOUNCER_PORT: String(this.ports.bouncer),
      },
      stdio: 'pipe',
    });
  }

  /**
   * A scenario's world through PgBouncer (prepared statements off); migrations and the relay's LISTEN go
   * straight to the primary, stale-tolerant reads to the standby.
   */
  envFor(name: string): ChaosEnv {
    const env = new ChaosEnv(name, {}, `postgres://postgres@127.0.0.1:${this.ports.bouncer}/postgres`);
    Object.assign(env.env, {
      DATABASE_PREPARED_STATEMENTS: 'false',
      DATABASE_DIRECT_URL: atPort(env.databaseUrl, this.ports.primary),
      DATABASE_REPLICA_URLS: atPort(env.databaseUrl, this.ports.standby),
    });
    return env;
  }
}

function atPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}
