// What a bench scenario is: a named measurement that returns figures, or says honestly why it could not run.

export interface BenchContext {
  quick: boolean;
  /** Pre-serialised request bodies (the realistic event mix). */
  bodies: string[];
  /** taskset core list for servers under test, or undefined (no pinning). */
  serverCores: string | undefined;
  /** Pass `--cpu-prof` to daemon children, writing into `profileDir`. */
  cpuProf: boolean;
  profileDir: string;
  /** Closed-loop (peak throughput) duration per measurement. */
  throughputSec: number;
  /** Open-loop (latency at a fixed rate) duration per measurement. */
  latencySec: number;
  /** Concurrent connections of the closed-loop generator. */
  connections: number;
  /** Further connection counts for the sweep of the scenarios that ask for one (`durable-ceiling`, `ingress`, `route`). */
  sweepConnections: number[];
  /** Events posted while the backlog scenario's sink is down. */
  backlogEvents: number;
  log(msg: string): void;
}

/** Named numbers from one run; names end in their unit (`rps`, `Ms`, `Mb`, `Pct`) or are counts. */
export type Figures = Record<string, number>;

/** A time series, as [ms since the scenario's start, value] points (e.g. the daemon's RSS in MB). */
export type Series = [number, number][];

export interface RunOutput {
  figures: Figures;
  series?: Record<string, Series>;
  /** Short facts behind the figures (e.g. why requests failed), bounded. */
  notes?: string[];
}

export interface Scenario {
  name: string;
  kind: 'baseline' | 'scenario';
  /** One line for the README and the report: what is measured. */
  measures: string;
  run(ctx: BenchContext): Promise<RunOutput>;
}

/** Thrown when a scenario cannot produce real figures (daemon missing, feature not built yet); never fake numbers. */
export class Unavailable extends Error {}
