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

/** Data sources whose hot statements run unnamed (DATABASE_PREPARED_STATEMENTS=false). */
const unprepared = new WeakSet<DataSource>();

/**
 * Makes `preparedQuery` on this data source send unnamed statements: PgBouncer before 1.21 in
 * transaction mode hands each transaction any server connection, where a named statement is unknown.
 */
export function disablePreparedStatements(dataSource: DataSource): void {
  unprepared.add(dataSource);
}

/** `name` where named statements are allowed on this data source, else undefined (an unnamed statement). */
export function statementNameOn(dataSource: DataSource, name: string): string | undefined {
  return unprepared.has(dataSource) ? undefined : name;
}

/** The statement's name, derived from its text: one text, one name, on every connection. */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `aop_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

async function clientOf(executor: SqlExecutor): Promise<{ client: Pool | PoolClient; named: boolean }> {
  const dataSource = executor instanceof EntityManager ? executor.connection : executor;
  const named = !unprepared.has(dataSource);
  if (executor instanceof EntityManager && executor.queryRunner && !executor.queryRunner.isReleased) {
    // The transaction's own connection (PostgresQueryRunner.connect() answers with it).
    return { client: (await executor.queryRunner.connect()) as PoolClient, named };
  }
  return { client: (dataSource.driver as unknown as { master: Pool }).master, named };
}

/**
 * Runs a hot-path statement as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call, which is most of the cost of the saga's short statements
 * (TypeORM's `query` always sends unnamed ones). Joins the caller's transaction when given its
 * EntityManager. Errors come back as TypeORM's QueryFailedError, like `query`'s, so callers that
 * look at `driverError` (unique violations, say) work unchanged.
 *
 * With DATABASE_PREPARED_STATEMENTS=false (see `disablePreparedStatements`) the statement is sent
 * unnamed, as `query` does: parsed and planned on every call, but fit for any pooler.
 *
 * Only for fixed SQL texts: every distinct text becomes a statement kept by each connection.
 */
export async function preparedQuery<T>(
  executor: SqlExecutor,
  text: string,
  values: unknown[],
): Promise<PreparedResult<T>> {
  const { client, named } = await clientOf(executor);
  try {
    const result = await client.query<T & object>(
      named ? { name: statementName(text), text, values } : { text, values },
    );
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw new QueryFailedError(text, values, error as Error);
  }
}
