/**
 * The conformance suite every DeployTarget passes against the real thing (a Docker Engine,
 * a Kubernetes API server with its controllers). A target is done when this suite passes.
 * The cases run in order, like an operator's week: first release, upgrade, a broken release
 * that must roll itself back, a manual rollback, a cancelled rollout, removal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../core/errors.js';
import {
  RolloutError,
  type DeployEvent,
  type DeploySpec,
  type DeployTarget,
  type Release,
} from './types.js';

export interface DeployConformance {
  kind: string;
  target: DeployTarget;
  /** A spec for a fresh app (unique name) — replicas >= 2 so "never fewer than asked" means something. */
  spec: DeploySpec;
  /** Two good releases (different images) and one whose readiness check never passes. */
  releases: { v1: Release; v2: Release; neverReady: Release };
  /** Spec changes that make `neverReady` unready on this target (e.g. a kwok label). */
  neverReadySpec?: Partial<DeploySpec>;
  /**
   * What the load balancer serves now, as the image reference the replica reports (e.g.
   * from GET /version); undefined where the target has no data path (API-level tests).
   */
  serving?: () => Promise<string>;
  /** Seconds a case may take (rollouts on a busy CI machine). */
  timeoutSeconds?: number;
}

export function runDeployConformance(c: DeployConformance): void {
  const { target, spec, releases } = c;
  const timeout = (c.timeoutSeconds ?? 120) * 1000;

  /** `image` is live on every replica, and (where the target has a data path) answers. */
  const expectServing = async (image: string) => {
    const status = await target.status(spec.app);
    expect(status.live?.image).toBe(image);
    expect(status.replicas.ready).toBe(spec.replicas);
    if (c.serving) expect(await c.serving()).toBe(image);
  };

  describe(`DeployTarget conformance: ${c.kind}`, { sequential: true }, () => {
    afterAll(async () => {
      await target.destroy(spec.app);
    }, timeout);

    it('reports an app that was never deployed as not live, with no history', async () => {
      const status = await target.status(spec.app);
      expect(status.live).toBeUndefined();
      expect(await target.history(spec.app)).toEqual([]);
    });

    it(
      'rolls out a first release to every replica and records its provenance',
      async () => {
        const events: DeployEvent[] = [];
        const result = await target.deploy(releases.v1, spec, { onEvent: (e) => events.push(e) });
        expect(result.revision.image).toBe(releases.v1.image);
        expect(result.revision.provenance).toEqual(releases.v1.provenance);
        expect(events.length).toBeGreaterThan(0);
        await expectServing(releases.v1.image);
      },
      timeout,
    );

    it(
      'upgrades to a second release and keeps both in the history, newest first',
      async () => {
        const result = await target.deploy(releases.v2, spec);
        expect(result.revision.image).toBe(releases.v2.image);
        const history = await target.history(spec.app);
        expect(history.map((r) => r.image)).toEqual([releases.v2.image, releases.v1.image]);
        expect(history[0]!.number).toBeGreaterThan(history[1]!.number);
        expect(history[1]!.provenance).toEqual(releases.v1.provenance);
        expect(Date.parse(history[0]!.deployedAt)).not.toBeNaN();
        if (c.serving) expect(await c.serving()).toBe(releases.v2.image);
      },
      timeout,
    );

    it(
      'deploying the live release again changes nothing',
      async () => {
        const before = await target.history(spec.app);
        const result = await target.deploy(releases.v2, spec);
        expect(result.revision.number).toBe(before[0]!.number);
        expect(await target.history(spec.app)).toEqual(before);
      },
      timeout,
    );

    it(
      'rolls a release that never becomes ready back by itself and says so',
      async () => {
        const broken = { ...spec, ...c.neverReadySpec, progressDeadlineSeconds: 20 };
        const err = await target.deploy(releases.neverReady, broken).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RolloutError);
        const rollout = err as RolloutError;
        expect(['never-ready', 'deadline', 'crash-loop']).toContain(rollout.failure);
        expect(rollout.rolledBack).toBe(true);
        expect(rollout.live?.image).toBe(releases.v2.image);
        expect(rollout.message).toMatch(/roll/i);
        await expectServing(releases.v2.image);
      },
      timeout,
    );

    it(
      'rolls back on request to the previous release, as a new revision',
      async () => {
        const before = await target.history(spec.app);
        const result = await target.rollback(spec.app);
        expect(result.revision.image).toBe(releases.v1.image);
        expect(result.revision.number).toBeGreaterThan(before[0]!.number);
        expect((await target.status(spec.app)).live?.image).toBe(releases.v1.image);
        if (c.serving) expect(await c.serving()).toBe(releases.v1.image);
      },
      timeout,
    );

    it(
      'refuses to roll back to a revision it does not have',
      async () => {
        await expect(target.rollback(spec.app, 9999)).rejects.toThrow(NotFoundError);
        expect((await target.status(spec.app)).live?.image).toBe(releases.v1.image);
      },
      timeout,
    );

    it(
      'rolls back to a named revision',
      async () => {
        const v2 = (await target.history(spec.app)).find((r) => r.image === releases.v2.image)!;
        const result = await target.rollback(spec.app, v2.number);
        expect(result.revision.image).toBe(releases.v2.image);
        expect((await target.status(spec.app)).live?.image).toBe(releases.v2.image);
      },
      timeout,
    );

    it(
      'a cancelled rollout leaves the previous release serving',
      async () => {
        const controller = new AbortController();
        const pending = target.deploy(releases.v1, spec, {
          signal: controller.signal,
          onEvent: () => controller.abort(),
        });
        const err = await pending.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RolloutError);
        expect((err as RolloutError).failure).toBe('cancelled');
        expect((err as RolloutError).live?.image).toBe(releases.v2.image);
        await expectServing(releases.v2.image);
      },
      timeout,
    );

    it(
      'destroy removes the app and may be repeated',
      async () => {
        await target.destroy(spec.app);
        await target.destroy(spec.app);
        expect((await target.status(spec.app)).live).toBeUndefined();
        expect(await target.history(spec.app)).toEqual([]);
      },
      timeout,
    );
  });
}
