import { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import { createDataSource } from './data-source';
import { preparedQuery } from './prepared';

/** What the connection keeps: a named statement stays in pg_prepared_statements, an unnamed one does not. */
async function preparedOnConnection(dataSource: DataSource): Promise<{ value: number; kept: string[] }> {
  return dataSource.transaction(async (tx) => {
    const { rows } = await preparedQuery<{ value: number }>(tx, 'SELECT $1::int + 1 AS value', [41]);
    const kept = await tx.query<{ statement: string }[]>(
      `SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%$1::int + 1 AS value%'`,
    );
    return { value: rows[0].value, kept: kept.map((k) => k.statement) };
  });
}

describe('preparedQuery and DATABASE_PREPARED_STATEMENTS', () => {
  const opened: DataSource[] = [];
  const open = async (prepared: string): Promise<DataSource> => {
    const config = loadConfig({ ...process.env, DATABASE_PREPARED_STATEMENTS: prepared });
    const dataSource = await createDataSource({ database: { ...config.database, poolSize: 1 } }).initialize();
    opened.push(dataSource);
    return dataSource;
  };
  afterAll(() => Promise.all(opened.map((d) => d.destroy())));

  it('keeps a named statement on the connection by default', async () => {
    const result = await preparedOnConnection(await open('true'));
    expect(result).toEqual({ value: 42, kept: [expect.stringContaining('$1::int + 1')] });
  });

  it('sends it unnamed with DATABASE_PREPARED_STATEMENTS=false, so any pooled connection can run it', async () => {
    const result = await preparedOnConnection(await open('false'));
    expect(result).toEqual({ value: 42, kept: [] });
  });
});
