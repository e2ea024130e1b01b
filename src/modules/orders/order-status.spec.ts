import {
  allowedSources,
  canTransition,
  ORDER_STATUSES,
  ORDER_TRANSITIONS,
  SETTLED_STATUSES,
  TERMINAL_STATUSES,
} from './order-status';

describe('order status table', () => {
  it('follows the happy path of the design', () => {
    const path = ['PENDING', 'PROCESSING', 'PAYMENT_PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED'] as const;
    for (let i = 1; i < path.length; i++) {
      expect(canTransition(path[i - 1], path[i])).toBe(true);
    }
  });

  it('lets nothing leave a terminal state', () => {
    for (const status of TERMINAL_STATUSES.filter((s) => s !== 'DELIVERED')) {
      expect(ORDER_TRANSITIONS[status]).toEqual([]);
    }
    expect(ORDER_TRANSITIONS.DELIVERED).toEqual(['REFUNDED']);
    // Read off the table: DELIVERED is not terminal, a refund may follow it (SSE streams stay open).
    expect(TERMINAL_STATUSES).toEqual(['CANCELLED', 'PAYMENT_FAILED', 'REFUNDED']);
  });

  it('refuses going back or skipping ahead', () => {
    expect(canTransition('CONFIRMED', 'PENDING')).toBe(false);
    expect(canTransition('PENDING', 'SHIPPED')).toBe(false);
    expect(canTransition('SHIPPED', 'CANCELLED')).toBe(false);
  });

  it('only names known states', () => {
    for (const targets of Object.values(ORDER_TRANSITIONS)) {
      for (const target of targets) {
        expect(ORDER_STATUSES).toContain(target);
      }
    }
    expect(SETTLED_STATUSES.every((s) => ORDER_STATUSES.includes(s))).toBe(true);
  });

  it('lists the sources of a move', () => {
    expect(allowedSources('SHIPPED')).toEqual(['CONFIRMED']);
    expect(allowedSources('CANCELLED').sort()).toEqual([
      'CONFIRMED',
      'PAYMENT_PENDING',
      'PENDING',
      'PROCESSING',
    ]);
  });
});
