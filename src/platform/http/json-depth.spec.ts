import { exceedsJsonDepth } from './json-depth';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const nested = (depth: number, open = '[', close = ']'): string =>
  `${open.repeat(depth)}1${close.repeat(depth)}`;

describe(exceedsJsonDepth.name, () => {
  describe('counts arrays and objects together', () => {
    it('accepts a body exactly at the limit', () => {
      expect(exceedsJsonDepth(bytes(nested(32)), 32)).toBe(false);
      expect(exceedsJsonDepth(bytes('{"a":[{"b":[1]}]}'), 4)).toBe(false);
    });

    it('refuses a body one level past the limit', () => {
      expect(exceedsJsonDepth(bytes(nested(33)), 32)).toBe(true);
      expect(exceedsJsonDepth(bytes('{"a":[{"b":[1]}]}'), 3)).toBe(true);
    });

    it('measures the deepest branch, not the number of brackets', () => {
      const wide = `[${Array.from({ length: 1000 }, () => '[[1]]').join(',')}]`;
      expect(exceedsJsonDepth(bytes(wide), 3)).toBe(false);
    });

    it('refuses an unbalanced run of openers without scanning to the end', () => {
      expect(exceedsJsonDepth(bytes('['.repeat(500_000)), 32)).toBe(true);
    });
  });

  describe('ignores brackets inside strings', () => {
    it('does not count brackets in a string value or key', () => {
      const body = JSON.stringify({ ['[[[[{{{{']: '[[[[[[[[[[[[{{{{{{{{{{{' });
      expect(exceedsJsonDepth(bytes(body), 1)).toBe(false);
    });

    it('knows an escaped quote does not end the string', () => {
      const body = JSON.stringify({ note: 'he said \\"[[[[[[[[\\" and \\\\' });
      expect(exceedsJsonDepth(bytes(body), 1)).toBe(false);
      // After an escaped backslash the quote does end the string: the bracket after it counts.
      expect(exceedsJsonDepth(bytes('["\\\\",[[1]]]'), 2)).toBe(true);
    });

    it('reads multi-byte UTF-8 text as characters it skips', () => {
      const body = JSON.stringify({ name: '😀ﷺ𝕏[[[[', list: [[['é']]] });
      expect(exceedsJsonDepth(bytes(body), 4)).toBe(false);
      expect(exceedsJsonDepth(bytes(body), 3)).toBe(true);
    });
  });
});
