/**
 * Docker scenarios under load: ShipML's Docker target (N replicas behind HAProxy), and what a
 * user scripts instead (one container published on 127.0.0.1, replaced in place).
 */
import { DEFAULT_SPEC, RolloutError, type DeploySpec } from 'shipml';
import { DockerTarget } from 'shipml/deploy/docker';
import {
  NEVER_READY,
  freePort,
  mustSh,
  seenText,
  sh,
  switchText,
  timeline,
  type Bench,
} from './harness.js';
import { log } from './settings.js';

export const ROLLOUT = 'docker: rollout v1 → v2';
export const ROLLBACK = 'docker: never-ready → rollback';

export async function dockerShipml(bench: Bench): Promise<void> {
  const { settings: s, releases } = bench;
  const port = await freePort();
  const target = new DockerTarget({ port, proxyImage: s.proxyImage });
  const spec: DeploySpec = {
    ...DEFAULT_SPEC,
    app: `${s.prefix}-docker`,
    replicas: s.dockerReplicas,
    progressDeadlineSeconds: s.deadline,
    env: { LOG_LEVEL: 'warn' },
  };
  const tool = 'shipml deploy (docker target)';
  try {
    log(`docker/shipml: set-up, v1 on ${spec.replicas} replicas behind 127.0.0.1:${port}`);
    const first = await target.deploy(releases.v1, spec, { signal: bench.stepSignal() });
    const url = first.url ?? `http://127.0.0.1:${port}/`;

    await bench.guarded(ROLLOUT, tool, true, async () => {
      log(`${ROLLOUT}: shipml deploy under ${s.rate} req/s`);
      const t = timeline();
      const u = await bench.underLoad(url, () => {
        t.start();
        return target.deploy(releases.v2, spec, {
          signal: bench.stepSignal(),
          onEvent: t.onEvent,
        });
      });
      const switched = u.report.seen.map((x) => x.value).join(',') === 'v1,v2';
      const after = await bench.serving(url);
      bench.record({
        scenario: ROLLOUT,
        tool,
        shipml: true,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.result.seconds,
        note: `${spec.replicas} replicas; answers ${seenText(u.report.seen)}${switched ? '' : ' (expected v1 then v2)'}${switchText(u.report.seen)}`,
        pass: u.report.failed === 0 && switched && after === 'v2',
        details: {
          ...bench.loadDetails(u),
          wallSeconds: u.seconds,
          revision: u.result.revision.number,
          servingAfter: after,
          events: t.events,
        },
      });
    });

    await bench.guarded(ROLLBACK, tool, true, async () => {
      log(`${ROLLBACK}: shipml deploy of the never-ready image under ${s.rate} req/s`);
      const t = timeline();
      const u = await bench.underLoad(url, async () => {
        t.start();
        try {
          await target.deploy(releases.neverReady, spec, {
            signal: bench.stepSignal(),
            onEvent: t.onEvent,
          });
          return undefined;
        } catch (err) {
          if (err instanceof RolloutError) return err;
          throw err;
        }
      });
      const err = u.result;
      const after = await bench.serving(url);
      const leaked = u.report.seen.some((x) => x.value === NEVER_READY);
      bench.record({
        scenario: ROLLBACK,
        tool,
        shipml: true,
        sent: u.report.sent,
        failed: u.report.failed,
        // RolloutError carries no duration: the wall clock until deploy() threw.
        seconds: u.seconds,
        note: err
          ? `RolloutError ${err.failure}, rolledBack ${err.rolledBack}; ${after} served after; answers ${seenText(u.report.seen)}`
          : 'the never-ready release was NOT refused',
        // Rolled back, v2 serves, and the never-ready release never answered a user.
        pass:
          u.report.failed === 0 &&
          err?.rolledBack === true &&
          err.failure === 'never-ready' &&
          after === 'v2' &&
          !leaked,
        details: {
          ...bench.loadDetails(u),
          failure: err?.failure,
          rolledBack: err?.rolledBack,
          message: err?.message,
          servingAfter: after,
          events: t.events,
        },
      });
    });
  } finally {
    log('docker/shipml: destroy');
    await target.destroy(spec.app);
  }
}

/** One container published on 127.0.0.1:port, replaced in place with docker commands. */
export async function dockerPlain(bench: Bench): Promise<void> {
  const { settings: s, releases } = bench;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const name = `${s.prefix}-plain`;
  // SHIPML_IMAGE: so /version says which image answers (the Docker target sets it too).
  const run = (image: string) =>
    `${s.docker} run -d --name ${name} -e SHIPML_IMAGE=${image} -e LOG_LEVEL=warn -p 127.0.0.1:${port}:8080 ${image}`;
  const bash = (script: string) => mustSh(['bash', '-c', script], s.stepSeconds);
  const fresh = async (image: string) => {
    await sh([s.docker, 'rm', '-f', name], s.stepSeconds);
    await bash(`${run(image)} >/dev/null`);
    await bench.waitReady(url, s.stepSeconds);
  };

  const replace = (tool: string, stop: string) =>
    bench.guarded(ROLLOUT, tool, false, async () => {
      log(`${ROLLOUT}: ${tool} under ${s.rate} req/s`);
      await fresh(releases.v1.image);
      const script = `${stop} >/dev/null && ${run(releases.v2.image)} >/dev/null`;
      const u = await bench.underLoad(url, async () => {
        const replaced = await bash(script);
        const ready = await bench.waitReady(url, s.stepSeconds);
        return { commandSeconds: replaced.seconds, readySeconds: ready };
      });
      bench.record({
        scenario: ROLLOUT,
        tool,
        shipml: false,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.seconds,
        note: `1 container, until the new one answers /readyz; answers ${seenText(u.report.seen)}${switchText(u.report.seen)}`,
        pass: null,
        details: { ...bench.loadDetails(u), script, ...u.result },
      });
    });

  try {
    await replace('docker rm -f old && docker run new', `${s.docker} rm -f ${name}`);
    await replace(
      'docker stop old && docker rm && docker run new',
      `${s.docker} stop ${name} && ${s.docker} rm ${name}`,
    );

    // No readiness gate and no rollback: the script waits for /readyz as long as ShipML's
    // deadline, then puts the old image back.
    const tool = `script: run new, wait ${s.deadline} s for /readyz, run old again`;
    await bench.guarded(ROLLBACK, tool, false, async () => {
      log(`${ROLLBACK}: ${tool} under ${s.rate} req/s`);
      await fresh(releases.v2.image);
      const swap = (image: string) =>
        bash(`${s.docker} rm -f ${name} >/dev/null && ${run(image)} >/dev/null`);
      const u = await bench.underLoad(url, async () => {
        await swap(releases.neverReady.image);
        const gaveUp = await bench.waitReady(url, s.deadline).then(
          () => false,
          () => true,
        );
        await swap(releases.v2.image);
        await bench.waitReady(url, s.stepSeconds);
        return { gaveUp };
      });
      const after = await bench.serving(url);
      const wrong = u.report.seen.find((x) => x.value === NEVER_READY)?.count ?? 0;
      bench.record({
        scenario: ROLLBACK,
        tool,
        shipml: false,
        sent: u.report.sent,
        failed: u.report.failed,
        seconds: u.seconds,
        note: `until v2 answers /readyz again (${after} served after); ${wrong} answered 2xx by the never-ready release`,
        pass: null,
        details: {
          ...bench.loadDetails(u),
          gaveUpWaiting: u.result.gaveUp,
          servingAfter: after,
          neverReadyAnswers: wrong,
        },
      });
    });
  } finally {
    await sh([s.docker, 'rm', '-f', name], 60);
  }
}
