import { DataSource } from 'typeorm';

export interface PoolStats {
  /** Connections open (in use + idle). */
  totalCount: number;
  idleCount: number;
  /** Queries waiting for a free connection. */
  waitingCount: number;
  max: number;
}

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/** The pg pool behind TypeORM's postgres driver (`driver.master`); undefined before it is initialised. */
export function poolStats(dataSource: DataSource): PoolStats | undefined {
  const pool = (dataSource.driver as unknown as { master?: PgPool }).master;
  if (!pool) {
    return undefined;
  }
  return {
    totalCount: pool.totalCount,
    idleCount: pool.idleCount,
    waitingCount: pool.waitingCount,
    max: pool.options?.max ?? 0,
  };
}
