/**
 * What a webhook makes of one pushed ref, once the delivery is verified and parsed: the same
 * rules for every git host (a ref that is no branch or tag, a tag while tags are off, a
 * branch the app does not build start nothing), and the run a built ref queues.
 */
import { clip, type branchFilter, type ParsedRef } from './refs.js';
import type { TriggerRequest } from './types.js';

/**
 * Why a pushed ref starts nothing, or undefined when it is built. `shown` is the ref as the
 * sender wrote it (for the reason; clipped here).
 */
export function unbuiltRef(
  ref: ParsedRef,
  shown: string,
  options: { tags: boolean },
  filter: ReturnType<typeof branchFilter>,
): string | undefined {
  if (ref.kind === 'other') return `ref ${clip(shown)} is not a branch or tag`;
  if (ref.kind === 'tag' && !options.tags) return `tag ${clip(ref.name)} (tags are off)`;
  if (ref.kind === 'branch' && !filter.matches(ref.name))
    return `branch ${clip(ref.name)} is not built (branches: ${filter.patterns.join(', ')})`;
  return undefined;
}

/** The run a push of `commit` to a built branch or tag queues. */
export function pushedRun(
  source: string,
  deliveryId: string,
  ref: ParsedRef,
  commit: string,
  more: { pusher?: string | undefined; modelRef?: string | undefined } = {},
): TriggerRequest {
  return {
    kind: 'run',
    cause: {
      trigger: 'commit',
      source,
      deliveryId,
      pusher: more.pusher,
      ...(ref.kind === 'tag' ? { detail: `tag ${clip(ref.name)}` } : {}),
    },
    branch: ref.kind === 'branch' ? ref.name : undefined,
    commit,
    ...('modelRef' in more ? { modelRef: more.modelRef } : {}),
  };
}
