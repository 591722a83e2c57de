/**
 * The top-level commands, in the order `shipml --help` lists them, and the module that defines
 * each. main.ts loads a module only when argv names one of its commands, and stands a stub in
 * for every other: `shipml --version` and `shipml --help` load no command module (and so none
 * of the registries, their zod schemas, the config loader, the SDKs), `shipml build` loads
 * build's definition only, and build's body when it runs. test/cli.test.ts checks each entry
 * against the command its module defines.
 */
import { Command, Option } from 'commander';
import type { CommandRunner } from './context.js';

/** Defines a module's top-level commands. */
export type CommandLoader = (run: CommandRunner, version: string) => Promise<Command[]>;

export interface CommandEntry {
  /** As commander's help shows it: the name, `[options]` if it has any, its arguments. */
  term: string;
  /** The command's description, as its module gives it. */
  description: string;
  load: CommandLoader;
}

const model: CommandLoader = async (run) => [(await import('./model.js')).modelCommand(run)];
const build: CommandLoader = async (run) => [(await import('./build.js')).buildCommand(run)];
const image: CommandLoader = async (run) => [(await import('./image.js')).imageCommand(run)];
const pipeline: CommandLoader = async (run) => (await import('./run.js')).pipelineCommands(run);
const release: CommandLoader = async (run) => (await import('./deploy.js')).releaseCommands(run);
const init: CommandLoader = async (run) => [(await import('./init.js')).initCommand(run)];
const demo: CommandLoader = async (run) => [(await import('./demo.js')).demoCommand(run)];
const server: CommandLoader = async (run, version) =>
  (await import('./server.js')).serverCommands(run, version);
const runs: CommandLoader = async (run) => (await import('./runs.js')).runsCommands(run);
const keys: CommandLoader = async (run) => [(await import('./keys.js')).keysCommand(run)];
const verify: CommandLoader = async (run) => [(await import('./verify.js')).verifyCommand(run)];
const sbom: CommandLoader = async (run) => [(await import('./sbom.js')).sbomCommand(run)];

export const COMMANDS: readonly CommandEntry[] = [
  {
    term: 'model',
    description: 'publish, list, show, pull and promote model versions in a model store',
    load: model,
  },
  {
    term: 'build [options]',
    description: 'build the app + model image without a Docker daemon, and push or export it',
    load: build,
  },
  {
    term: 'image',
    description: 'operate on images: inject a new model without rebuilding',
    load: image,
  },
  {
    term: 'run [options]',
    description:
      'the whole pipeline: resolve → fetch model → test → evaluate → gate → build → push → sign → deploy → verify → record',
    load: pipeline,
  },
  {
    term: 'release [options] [image]',
    description:
      'deploy and verify an image already built (default: image.repository:latest), e.g. nightly',
    load: pipeline,
  },
  {
    term: 'deploy [options] <image>',
    description: 'roll an image out to the target, health-gated; rolls back by itself if it fails',
    load: release,
  },
  {
    term: 'status [options]',
    description: 'what serves now: revision, image, commit, model, ready replicas, URL',
    load: release,
  },
  {
    term: 'rollback [options]',
    description: 'roll back to the previous revision (or --to REVISION), health-gated like deploy',
    load: release,
  },
  {
    term: 'render [options] <image>',
    description: "print a release's manifests (Kubernetes: YAML, for GitOps) without applying them",
    load: release,
  },
  {
    term: 'destroy [options]',
    description: 'remove the app from the target: every replica, the load balancer, the history',
    load: release,
  },
  {
    term: 'init [options] [dir]',
    description:
      'detect the app (package.json or Dockerfile) and write shipml.yaml and CI definitions that call shipml',
    load: init,
  },
  {
    term: 'demo [options]',
    description:
      'the whole system on this machine: train + publish a model, run the pipeline, roll out v2 under load, watch the gate stop a worse v3',
    load: demo,
  },
  {
    term: 'server [options]',
    description:
      'the pipeline service: webhooks, model watches, schedules, a queue, workers, an API',
    load: server,
  },
  {
    term: 'worker [options]',
    description:
      'a worker on another machine: claims runs from the shared PostgreSQL (database in the config)',
    load: server,
  },
  {
    term: 'runs',
    description: "the server's runs: list, show, logs, cancel, rerun",
    load: runs,
  },
  {
    term: 'trigger [options] <app>',
    description: 'start a run of an app on the server (or a release of an image)',
    load: runs,
  },
  { term: 'keys', description: 'signing keys (cosign-compatible)', load: keys },
  {
    term: 'verify [options] <image>',
    description:
      "verify an image's cosign signature and signed attestations with a public key, and that its provenance names the image's own commit and model",
    load: verify,
  },
  {
    term: 'sbom [options] <image>',
    description:
      'print the CycloneDX 1.6 SBOM attached to an image (code, dependencies, base image, model)',
    load: sbom,
  },
];

/** The command's name: the first word of its term. */
export function nameOf(entry: CommandEntry): string {
  return entry.term.split(' ')[0]!;
}

/**
 * What `shipml --help` needs of a command and nothing more: name, description, and what
 * makes commander's help show `[options]` and the arguments. Never parsed: main.ts loads the
 * real command whenever argv names it.
 */
export function stubCommand(entry: CommandEntry): Command {
  const [name, ...rest] = entry.term.split(' ');
  const stub = new Command(name).description(entry.description);
  for (const word of rest)
    if (word === '[options]') stub.addOption(new Option('--stub').hideHelp());
    else stub.argument(word);
  return stub;
}

/**
 * The commands for `names`: the real one for each named (every command its module defines
 * comes with it), a stub for the rest, all in the order of {@link COMMANDS}.
 */
export async function commandsFor(
  names: ReadonlySet<string> | 'all',
  run: CommandRunner,
  version: string,
): Promise<Command[]> {
  const wanted = COMMANDS.filter((e) => names === 'all' || names.has(nameOf(e)));
  const loaded = new Map<string, Command>();
  for (const load of new Set(wanted.map((e) => e.load)))
    for (const cmd of await load(run, version)) loaded.set(cmd.name(), cmd);
  return COMMANDS.map((e) => loaded.get(nameOf(e)) ?? stubCommand(e));
}
