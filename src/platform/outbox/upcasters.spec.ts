import { createUpcaster, UnknownEventVersionError, upcast } from './upcasters';

describe(createUpcaster.name, () => {
  // A fake history: OrderCreated v0 used snake_case fields; v1 is today's { orderId, userId }.
  const sut = createUpcaster(
    {
      OrderCreated: {
        0: (v0) => ({ orderId: v0.order_id, userId: v0.user_id }),
      },
    },
    { OrderCreated: 1 },
  );

  it('lifts an old version to the current shape and version', () => {
    const lifted = sut('OrderCreated', 0, { order_id: 'o-1', user_id: 'u-1' });
    expect(lifted).toEqual({ schemaVersion: 1, payload: { orderId: 'o-1', userId: 'u-1' } });
  });

  it('leaves the current version as it is', () => {
    const payload = { orderId: 'o-2', userId: 'u-2' };
    expect(sut('OrderCreated', 1, payload)).toEqual({ schemaVersion: 1, payload });
  });

  it('refuses a version newer than the release knows, as a permanent error', () => {
    expect(() => sut('OrderCreated', 2, {})).toThrow(UnknownEventVersionError);
    expect(() => sut('OrderCreated', 2, {})).toThrow(/newer than this release/);
  });

  it('refuses an old version that has no upcaster', () => {
    const strict = createUpcaster({}, { OrderCreated: 3 });
    expect(() => strict('OrderCreated', 1, {})).toThrow(/No upcaster for OrderCreated from v1 to v2/);
  });

  it('the real registry accepts every current event version unchanged', () => {
    const payload = { orderId: 'o-3', userId: 'u-3' };
    expect(upcast('OrderCreated', 1, payload).payload).toBe(payload);
  });
});
