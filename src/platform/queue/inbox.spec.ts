import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import { createDataSource } from '../database/data-source';
import { Inbox } from './inbox';

describe(Inbox.name, () => {
  let dataSource: DataSource;
  const sut = new Inbox();

  beforeAll(async () => {
    dataSource = await createDataSource(loadConfig(process.env)).initialize();
  });
  afterAll(() => dataSource.destroy());

  it('runs the effect the first time a message arrives and skips it afterwards', async () => {
    const messageId = randomUUID();
    const effects: number[] = [];
    const first = await dataSource.transaction((tx) =>
      sut.runOnce(tx, 'spec', messageId, async () => effects.push(1)),
    );
    const second = await dataSource.transaction((tx) =>
      sut.runOnce(tx, 'spec', messageId, async () => effects.push(2)),
    );
    expect(first).toEqual({ duplicate: false, result: 1 });
    expect(second).toEqual({ duplicate: true });
    expect(effects).toEqual([1]);
  });

  it('keeps consumers apart: the same message id is new to another consumer', async () => {
    const messageId = randomUUID();
    await dataSource.transaction((tx) => sut.runOnce(tx, 'spec-a', messageId, async () => undefined));
    const other = await dataSource.transaction((tx) =>
      sut.runOnce(tx, 'spec-b', messageId, async () => 'done'),
    );
    expect(other).toEqual({ duplicate: false, result: 'done' });
  });

  it('forgets the message when the effect fails, so a redelivery runs it again', async () => {
    const messageId = randomUUID();
    await expect(
      dataSource.transaction((tx) =>
        sut.runOnce(tx, 'spec', messageId, async () => {
          throw new Error('effect failed');
        }),
      ),
    ).rejects.toThrow('effect failed');
    const retry = await dataSource.transaction((tx) => sut.runOnce(tx, 'spec', messageId, async () => 'ok'));
    expect(retry).toEqual({ duplicate: false, result: 'ok' });
  });

  it('lets exactly one of ten concurrent deliveries run the effect', async () => {
    const messageId = randomUUID();
    let effects = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        dataSource.transaction((tx) =>
          sut.runOnce(tx, 'spec', messageId, async () => {
            effects++;
          }),
        ),
      ),
    );
    expect(effects).toBe(1);
    expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
  });
});
