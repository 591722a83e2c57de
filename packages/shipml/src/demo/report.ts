/** How the demo tells what happened: which layers moved, what is live. */
import type { RunReport } from '../pipeline/types.js';

/** Which layers of the second image differ from the first's (by digest). */
export function layerChanges(before: RunReport, after: RunReport): string {
  const old = new Map((before.layers ?? []).map((l) => [l.kind, l.digest]));
  const kept = (after.layers ?? []).filter((l) => old.get(l.kind) === l.digest).map((l) => l.kind);
  const moved = (after.layers ?? []).filter((l) => old.get(l.kind) !== l.digest);
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  return [
    kept.length ? `${kept.join(' and ')} unchanged (same digests)` : undefined,
    ...moved.map((l) => `${l.kind} new (${mib(l.size)})`),
  ]
    .filter(Boolean)
    .join('; ');
}

export function describeLive(r: RunReport): string {
  const live = r.live;
  if (!live) return 'nothing';
  const p = live.provenance;
  return [
    `revision ${live.number}`,
    p.commit ? `commit ${p.commit.slice(0, 12)}` : undefined,
    p.model
      ? `model ${p.model.name}@${p.model.version} (${p.model.digest.slice(0, 19)}…)`
      : undefined,
    `image …@${live.image.slice(live.image.indexOf('@') + 1, live.image.indexOf('@') + 20)}…`,
  ]
    .filter(Boolean)
    .join(', ');
}
