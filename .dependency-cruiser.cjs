/**
 * Module boundaries, checked by `npm run lint:deps` (part of `npm run lint`, so CI runs it).
 * docs/boundaries.md explains each rule and draws the graph they allow.
 */
module.exports = {
  forbidden: [
    {
      name: 'platform-not-to-modules',
      comment: 'platform/ is framework glue without business rules: it never reaches into a feature module.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'saga-collaborators-not-to-checkout',
      comment:
        'The saga (checkout/) calls inventory, payments, notifications and orders; they never call it back.',
      severity: 'error',
      from: { path: '^src/modules/(inventory|payments|notifications|orders)/' },
      to: { path: '^src/modules/checkout/' },
    },
    {
      name: 'config-imports-nothing-of-ours',
      comment:
        'config/ reads the environment; every other part depends on it, so it depends on none of them.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^(src|test|scripts|bench)/', pathNot: '^src/config/' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle makes two files one unit in disguise (and breaks Nest at start-up in the worst case).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a type from checkout in inventory couples them as much as a value does.
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
