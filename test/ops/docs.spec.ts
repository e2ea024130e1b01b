import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { renderCommonVariables, renderConfigurationMd, renderEnvExample } from '../../scripts/docs-config';
import { VARIABLES } from '../../src/config/variables';
import { BOARD_COOKIE } from '../../src/modules/admin/queue-board.sessions';
import { CONSOLE_COOKIE } from '../../src/modules/auth/console-session.controller';
import { MetricsService } from '../../src/platform/metrics/metrics.service';
import { startTestApp, TestApp } from '../support/test-app';

const ROOT = join(__dirname, '../..');
const DOCS = join(ROOT, 'docs');
const FILES = [join(ROOT, 'README.md'), ...readdirSync(DOCS).map((name) => join(DOCS, name))].filter((file) =>
  file.endsWith('.md'),
);
const read = (file: string): string => readFileSync(file, 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of withoutCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe('documentation', () => {
  it('docs/configuration.md, .env.example and the README list are what `npm run docs:config` writes', () => {
    expect(read(join(DOCS, 'configuration.md'))).toBe(renderConfigurationMd());
    expect(read(join(ROOT, '.env.example'))).toBe(renderEnvExample());
    expect(read(join(ROOT, 'README.md'))).toContain(renderCommonVariables());
  });

  it('documents every variable with a group and a sentence, and lists exactly ten in the README', () => {
    for (const [name, spec] of Object.entries(VARIABLES)) {
      expect({ name, group: spec.group.length > 0, sentence: /\S.*\.$/.test(spec.description) }).toEqual({
        name,
        group: true,
        sentence: true,
      });
    }
    expect(Object.values(VARIABLES).filter((spec) => 'common' in spec && spec.common)).toHaveLength(10);
  });

  it('README stays an index: at most 300 lines', () => {
    expect(read(join(ROOT, 'README.md')).split('\n').length).toBeLessThanOrEqual(300);
  });

  it.each(FILES.map((file) => [relative(ROOT, file), file]))(
    'every relative link of %s reaches a file and, when it names one, a heading',
    (_name, file) => {
      const broken: string[] = [];
      const text = read(file).replace(/^```[\s\S]*?^```/gm, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) {
          continue;
        }
        const [path, anchor] = target.split('#');
        const resolved = path === '' ? file : join(dirname(file), path);
        if (!existsSync(resolved)) {
          broken.push(target);
        } else if (
          anchor !== undefined &&
          resolved.endsWith('.md') &&
          !anchorsOf(read(resolved)).has(anchor)
        ) {
          broken.push(target);
        }
      }
      expect(broken).toEqual([]);
    },
  );

  describe('metric names', () => {
    let sut: TestApp;
    let exposed: Set<string>;

    beforeAll(async () => {
      sut = await startTestApp();
      exposed = new Set(
        sut
          .get(MetricsService)
          .registry.getMetricsAsArray()
          .map((metric) => (metric as unknown as { name: string }).name),
      );
    });
    afterAll(() => sut.close());

    it.each(FILES.map((file) => [relative(ROOT, file), file]))(
      '%s names only metrics the service exposes',
      (_name, file) => {
        // `aop_bench_*` and `aop_chaos_*` are database names, the cookies are cookies: not metrics.
        const named = read(file).match(/\baop_(?!bench_|chaos_)[a-z0-9_]*[a-z0-9]\b/g) ?? [];
        const cookies = new Set([CONSOLE_COOKIE, BOARD_COOKIE]);
        expect([...new Set(named)].filter((name) => !exposed.has(name) && !cookies.has(name))).toEqual([]);
      },
    );
  });
});
