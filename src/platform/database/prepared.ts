import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';

/** A transaction's EntityManager, or the data source / its manager for a statement of its own. */
export type SqlExecutor = EntityManager | DataSource;

export interface PreparedResult<T> {
  rows: T[];
  rowCount: number;
}

const names = new Map<string, string>();

/** The statement's name, derived from its text: one text, one name, on every connection. */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `aop_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

async function clientOf(executor: SqlExecutor): Promise<Pool | PoolClient> {
  if (executor instanceof EntityManager && executor.queryRunner && !executor.queryRunner.isReleased) {
    // The transaction's own connection (PostgresQueryRunner.connect() answers with it).
    return (await executor.queryRunner.connect()) as PoolClient;
  }
  const dataSource = executor instanceof EntityManager ? executor.connection : executor;
  return (dataSource.driver as unknown as { master: Pool }).master;
}

/**
 * Runs a hot-path statement as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call, which is most of the cost of the saga's short statements
 * (TypeORM's `query` always sends unnamed ones). Joins the caller's transaction when given its
 * EntityManager. Errors come back as TypeORM's QueryFailedError, like `query`'s, so callers that
 * look at `driverError` (unique violations, say) work unchanged.
 *
 * Only for fixed SQL texts: every distinct text becomes a statement kept by each connection.
 */
export async function preparedQuery<T>(
  executor: SqlExecutor,
  text: string,
  values: unknown[],
): Promise<PreparedResult<T>> {
  const client = await clientOf(executor);
  try {
    const result = await client.query<T & object>({ name: statementName(text), text, values });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw new QueryFailedError(text, values, error as Error);
  }
}
