import { DataSource, EntityManager } from 'typeorm';
import { loadConfig } from '../../config/config';
import { createDataSource } from './data-source';
import { atomically, inSavepoint, inTransaction, isInTransaction } from './transaction';

describe('transaction helpers', () => {
  let dataSource: DataSource;
  const table = `tx_spec_${process.pid}`;

  beforeAll(async () => {
    dataSource = await createDataSource(loadConfig(process.env)).initialize();
    await dataSource.query(`CREATE TABLE ${table} (value text NOT NULL)`);
  });
  beforeEach(() => dataSource.query(`TRUNCATE ${table}`));
  afterAll(async () => {
    await dataSource.query(`DROP TABLE IF EXISTS ${table}`);
    await dataSource.destroy();
  });

  const insert = (tx: EntityManager, value: string) => tx.query(`INSERT INTO ${table} VALUES ($1)`, [value]);
  const stored = async (): Promise<string[]> =>
    (await dataSource.query<{ value: string }[]>(`SELECT value FROM ${table} ORDER BY value`)).map(
      (r) => r.value,
    );
  const failing = async (): Promise<never> => {
    throw new Error('work failed');
  };

  describe('isInTransaction', () => {
    it('tells an open transaction from a manager outside one, or none', async () => {
      expect(isInTransaction(undefined)).toBe(false);
      expect(isInTransaction(null)).toBe(false);
      expect(isInTransaction(dataSource.manager)).toBe(false);
      await dataSource.transaction(async (tx) => expect(isInTransaction(tx)).toBe(true));
    });
  });

  describe('inSavepoint', () => {
    it('undoes only the failed work; the transaction goes on and commits the rest', async () => {
      await dataSource.transaction(async (tx) => {
        await insert(tx, 'before');
        await expect(
          inSavepoint(tx, async () => {
            await insert(tx, 'undone');
            await failing();
          }),
        ).rejects.toThrow('work failed');
        await insert(tx, 'after');
      });
      expect(await stored()).toEqual(['after', 'before']);
    });

    it('nests: an inner failure keeps the outer savepoint’s work', async () => {
      await dataSource.transaction(async (tx) => {
        await inSavepoint(tx, async () => {
          await insert(tx, 'outer');
          await inSavepoint(tx, async () => {
            await insert(tx, 'inner');
            await failing();
          }).catch(() => undefined);
        });
      });
      expect(await stored()).toEqual(['outer']);
    });

    it('reports the work’s error, not a database error of its own', async () => {
      await dataSource.transaction(async (tx) => {
        await expect(inSavepoint(tx, () => tx.query('SELECT 1/0'))).rejects.toThrow(/division by zero/);
        await insert(tx, 'still usable');
      });
      expect(await stored()).toEqual(['still usable']);
    });
  });

  describe('atomically', () => {
    it('joins the caller’s transaction: the caller’s rollback undoes its work too', async () => {
      await expect(
        dataSource.transaction(async (tx) => {
          await atomically(dataSource, tx, (t) => insert(t, 'joined'));
          await failing();
        }),
      ).rejects.toThrow('work failed');
      expect(await stored()).toEqual([]);
    });

    it('opens a transaction of its own without one', async () => {
      await expect(
        atomically(dataSource, undefined, async (t) => {
          await insert(t, 'alone');
          await failing();
        }),
      ).rejects.toThrow('work failed');
      await atomically(dataSource, dataSource.manager, (t) => insert(t, 'committed'));
      expect(await stored()).toEqual(['committed']);
    });
  });

  describe('inTransaction', () => {
    it('runs in the caller’s transaction as it is: a failure it catches leaves the transaction aborted', async () => {
      await expect(
        dataSource.transaction(async (tx) => {
          await inTransaction(dataSource, tx, () => tx.query('SELECT 1/0')).catch(() => undefined);
          await insert(tx, 'refused');
        }),
      ).rejects.toThrow(/current transaction is aborted/);
      expect(await stored()).toEqual([]);
    });
  });
});
