import { GatewayPacer } from './gateway-pacer';

describe(GatewayPacer.name, () => {
  let now: number;
  let sut: GatewayPacer;

  beforeEach(() => {
    now = 1_000_000;
    sut = new GatewayPacer({ maxWaitMs: 2000, minRatePerSecond: 1 }, () => now);
  });

  /** n calls accepted, evenly over `ms`. */
  function acceptOver(n: number, ms: number): void {
    for (let i = 0; i < n; i++) {
      now += ms / n;
      sut.accepted();
    }
  }

  function expectJustUnder(limit: number): void {
    expect(sut.ratePerSecond).toBeGreaterThan(0.85 * limit);
    expect(sut.ratePerSecond).toBeLessThan(0.95 * limit);
  }

  describe('before the gateway ever refused a call', () => {
    it('lets every call start at once', () => {
      for (let i = 0; i < 1000; i++) {
        expect(sut.reserve()).toBe(0);
      }
      expect(sut.ratePerSecond).toBe(Number.POSITIVE_INFINITY);
    });
  });

  describe('on a 429', () => {
    it('cuts the pace to just under the rate the gateway accepted over the last second', () => {
      acceptOver(100, 1000);
      sut.rateLimited(10);
      expectJustUnder(100);
    });

    it('pauses every call for the Retry-After, then spaces them at the pace', () => {
      acceptOver(50, 1000);
      sut.rateLimited(200);
      const pace = sut.ratePerSecond;
      expect(sut.reserve()).toBe(200);
      expect(sut.reserve()).toBeCloseTo(200 + 1000 / pace, 5);
    });

    it('cuts once for the 429s of calls that were already in flight', () => {
      acceptOver(100, 1000);
      sut.rateLimited(5);
      sut.rateLimited(5);
      sut.rateLimited(5);
      expectJustUnder(100);
    });

    it('never paces below the floor', () => {
      sut.rateLimited(10);
      expect(sut.ratePerSecond).toBe(1);
    });
  });

  describe('afterwards', () => {
    it('grows the pace back while calls queue for their turn', () => {
      acceptOver(100, 1000);
      sut.rateLimited(0);
      const cut = sut.ratePerSecond;
      for (let i = 0; i < 300; i++) {
        const wait = sut.reserve()!;
        now += wait;
        sut.accepted();
      }
      expect(sut.ratePerSecond).toBeGreaterThan(cut + 3);
    });

    it('does not grow while nobody waits (an idle pace says nothing about the limit)', () => {
      acceptOver(100, 1000);
      sut.rateLimited(0);
      const cut = sut.ratePerSecond;
      now += 5000;
      for (let i = 0; i < 50; i++) {
        expect(sut.reserve()).toBe(0);
        sut.accepted();
        now += 1000;
      }
      expect(sut.ratePerSecond).toBe(cut);
    });

    it('refuses a slot it could only give after the longest wait, and takes nothing then', () => {
      sut.rateLimited(5000);
      expect(sut.reserve()).toBeUndefined();
      expect(sut.waitMs).toBe(5000);
      now += 3000;
      expect(sut.reserve()).toBe(2000);
    });
  });
});
