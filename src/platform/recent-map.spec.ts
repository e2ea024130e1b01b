import { RecentMap } from './recent-map';

describe(RecentMap.name, () => {
  it('keeps the most recently set entries only', () => {
    const map = new RecentMap<string, number>(3);
    for (let i = 0; i < 10; i++) {
      map.set(`k${i}`, i);
    }
    expect([...map.entries()]).toEqual([
      ['k7', 7],
      ['k8', 8],
      ['k9', 9],
    ]);
  });

  it('setting a key again makes it the newest, so it outlives older ones', () => {
    const map = new RecentMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect([...map.keys()]).toEqual(['a', 'c']);
    expect(map.get('a')).toBe(3);
  });
});
