import { DataSource, EntityManager } from 'typeorm';

/**
 * A caller's transaction to join, or none. Use cases that can run alone or inside a larger one (the
 * saga's step, say) take it as their first argument.
 */
export type Tx = EntityManager | null | undefined;

/** True for the manager of an open transaction (not a manager outside any transaction, nor none). */
export function isInTransaction(tx: Tx): tx is EntityManager {
  return tx?.queryRunner?.isTransactionActive === true;
}

/** Runs `work` in the caller's transaction as it is, or in one of its own: for work that writes nothing unless it succeeds whole. */
export async function inTransaction<T>(
  dataSource: DataSource,
  tx: Tx,
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  return isInTransaction(tx) ? work(tx) : dataSource.transaction(work);
}

/**
 * Runs `work` so that its failure undoes its own writes and nothing else: inside a savepoint of the
 * caller's transaction, or in a transaction of its own when there is none.
 */
export async function atomically<T>(
  dataSource: DataSource,
  tx: Tx,
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  return isInTransaction(tx) ? inSavepoint(tx, () => work(tx)) : dataSource.transaction(work);
}

let savepoints = 0;

/** Runs `work` inside a savepoint of the open transaction `tx`: a failure rolls back to it, and the transaction goes on. */
export async function inSavepoint<T>(tx: EntityManager, work: () => Promise<T>): Promise<T> {
  // A name of its own, so nested savepoints never release or roll back each other.
  const savepoint = `sp_${++savepoints}`;
  await tx.query(`SAVEPOINT ${savepoint}`);
  try {
    const result = await work();
    await tx.query(`RELEASE SAVEPOINT ${savepoint}`);
    return result;
  } catch (error) {
    // The work's error is the one worth reporting, even when the rollback fails too (connection lost).
    await tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => undefined);
    throw error;
  }
}
