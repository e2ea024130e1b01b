/**
 * A Map that keeps only its `max` most recently set entries (setting a key again makes it the newest):
 * for in-process memories of keys — such as the mock gateway's idempotency keys — that would otherwise
 * grow with every order for as long as the process lives.
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.max) {
      super.delete(this.keys().next().value as K);
    }
    return this;
  }
}
