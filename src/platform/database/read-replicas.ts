import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, redactUrl } from '../../config/config';
import { createDataSource } from './data-source';

/** A replica's freshness is re-checked at most this often; between checks the last answer stands. */
const CHECK_EVERY_MS = 200;
/** A check that takes longer than this counts as "down": a slow replica must not slow the read. */
const CHECK_DEADLINE_MS = 300;

interface Replica {
  url: string;
  dataSource: DataSource;
  initializing?: Promise<unknown>;
  checkedAt: number;
  fresh: boolean;
  checking?: Promise<boolean>;
}

/**
 * Routes stale-tolerant reads (DATABASE_REPLICA_URLS) to a streaming replica whose replay lag is at
 * most DATABASE_REPLICA_MAX_LAG_MS, else to the primary. Lag: a replica that has replayed the
 * primary's current WAL position is fresh; one that has not is as old as its last replayed commit.
 * A replica that is down, slow to answer, or no longer in recovery (promoted) is skipped.
 * Reads that must see the caller's own writes never come here: they use the primary DataSource.
 */
export class ReadReplicas {
  private readonly logger = new Logger(ReadReplicas.name);
  private readonly replicas: Replica[];
  private readonly maxLagMs: number;
  private next = 0;

  constructor(
    private readonly primary: DataSource,
    config: Pick<AppConfig, 'database' | 'role'>,
  ) {
    this.replicas = config.database.replicaUrls.map((url) => ({
      url,
      dataSource: createDataSource(
        { database: { ...config.database, url, poolSize: config.database.poolSize } },
        `aop-${config.role}-replica`,
      ),
      checkedAt: 0,
      fresh: false,
    }));
    this.maxLagMs = config.database.replicaMaxLagMs;
  }

  /** A fresh replica (round robin), else the primary. */
  async reader(): Promise<DataSource> {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[(this.next + i) % this.replicas.length];
      if (await this.isFresh(replica)) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return replica.dataSource;
      }
    }
    return this.primary;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (r) => {
        await r.initializing?.catch(() => undefined);
        if (r.dataSource.isInitialized) {
          await r.dataSource.destroy();
        }
      }),
    );
  }

  private isFresh(replica: Replica): Promise<boolean> | boolean {
    if (Date.now() - replica.checkedAt < CHECK_EVERY_MS) {
      return replica.fresh;
    }
    // One check at a time per replica; concurrent readers share it.
    replica.checking ??= this.check(replica).finally(() => (replica.checking = undefined));
    return replica.checking;
  }

  private async check(replica: Replica): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), CHECK_DEADLINE_MS)),
    );
    const fresh = await Promise.race([this.measure(replica).catch(() => false), deadline]).finally(() =>
      clearTimeout(timer),
    );
    if (fresh !== replica.fresh) {
      this.logger.log(
        { replica: redactUrl(replica.url), fresh },
        fresh ? 'replica in use' : 'replica skipped',
      );
    }
    replica.fresh = fresh;
    replica.checkedAt = Date.now();
    return fresh;
  }

  private async measure(replica: Replica): Promise<boolean> {
    if (!replica.dataSource.isInitialized) {
      replica.initializing ??= replica.dataSource.initialize().catch((error: unknown) => {
        replica.initializing = undefined;
        throw error;
      });
      await replica.initializing;
    }
    const [{ lsn }] = await this.primary.query<{ lsn: string }[]>('SELECT pg_current_wal_lsn()::text AS lsn');
    const [state] = await replica.dataSource.query<
      { recovering: boolean; caughtUp: boolean | null; lagMs: number | null }[]
    >(
      `SELECT pg_is_in_recovery() AS recovering,
              pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0 AS "caughtUp",
              (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS "lagMs"`,
      [lsn],
    );
    if (!state.recovering) {
      return false;
    }
    if (state.caughtUp) {
      return true;
    }
    return state.lagMs !== null && state.lagMs <= this.maxLagMs;
  }
}
