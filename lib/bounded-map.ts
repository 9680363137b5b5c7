/**
 * Sets `key` in `map`, first forgetting the map's oldest entry when it holds
 * `limit` entries already (a Map iterates in insertion order): a bounded cache
 * without an LRU's bookkeeping on every lookup, for maps read on hot paths.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}
